"""factory_boy factories. Accounts are opened through the service, as the API does."""

import factory
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from accounts.models import Account
from accounts.services import account_open


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"client-{n}")
    is_staff = False

    @factory.post_generation
    def token(user, create, extracted, **kwargs):
        if create:
            Token.objects.get_or_create(user=user)


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff-{n}")
    is_staff = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    owner = factory.SubFactory(UserFactory)
    currency = "USD"
    name = factory.Sequence(lambda n: f"account {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return account_open(**kwargs)
