"""Generated from proto/ledger/v1/ by ``python -m grpc_api.codegen``: do not edit."""
