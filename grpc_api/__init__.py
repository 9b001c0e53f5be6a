"""The gRPC interface: the ledger's services over gRPC, package ``ledger.v1`` (proto/ledger/v1/).

One more interface over the same core as REST, not a second implementation: each method parses
its message with the REST interface's input serializers (``api.inputs``), calls the same service
or selector, and answers the REST document (``api.documents``) as its message, field for field.
"""
