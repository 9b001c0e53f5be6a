"""BatchService: many movements and holds in one database transaction, all or nothing."""

from __future__ import annotations

from typing import Any

from api.documents import BATCH, posting_renderer
from api.ids import id_or_404
from api.inputs import batch_operations
from grpc_api.calls import Call
from grpc_api.messages import as_json, from_document
from grpc_api.registry import method
from grpc_api.v1 import batches_pb2 as pb
from grpc_api.writes import operation, write
from transactions import selectors, services
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import Batch


def _operations(request: pb.CreateBatchRequest) -> list[dict[str, Any]]:
    """Return the operations as REST's body lists them: ``{"kind": ..., ...the fields of that kind}``.

    An operation with no kind set stays an empty object, which the batch's input refuses by its index.
    """
    listed = []
    for operation_message in request.operations:
        kind = operation_message.WhichOneof("operation")
        listed.append({"kind": kind, **as_json(getattr(operation_message, kind))} if kind else {})
    return listed


@method("BatchService", "CreateBatch")
def create_batch(request: pb.CreateBatchRequest, call: Call) -> pb.Batch:
    payload = {"operations": _operations(request)}

    def perform(claim: IdempotencyClaim[Batch]) -> Batch:
        return services.batch_post(actor=call.client, operations=batch_operations(payload), idempotency=claim)

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("batch-list"),
        payload=payload,
        render=posting_renderer(BATCH, call.client),
        perform=perform,
        answer=pb.Batch,
    )


@method("BatchService", "GetBatch")
def get_batch(request: pb.GetBatchRequest, call: Call) -> pb.Batch:
    batch = selectors.batch_get(user=call.client, batch_id=id_or_404(request.batch_id, what="transaction"))
    return from_document(BATCH.render(batch, call.client), pb.Batch)
