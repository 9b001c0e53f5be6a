from django.apps import AppConfig


class GrpcApiConfig(AppConfig):
    """The gRPC interface (``manage.py grpcserver``)."""

    name = "grpc_api"
    verbose_name = "gRPC interface"
