from django.urls import path

from bench.floor.views import balance, transfer

urlpatterns = [path("transfer", transfer), path("balance", balance)]
