"""REST API for accounts: list, retrieve, create, update. Secrets are write-only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.crypto import CredentialCipher
from accounts.models import Account
from accounts.selectors import account_api_key_hint
from accounts.services.account import (
    EDITABLE_FIELDS,
    SecretsUpdate,
    account_create,
    account_update,
)
from accounts.wiring import configured_cipher
from infra.pagination import CountedCursorPage


class IsStaffOrReadOnly(permissions.BasePermission):
    """Any authenticated user reads; only staff write."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_staff)


def _secret_field(*, required: bool = False) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=required,
        allow_blank=not required,
        trim_whitespace=True,
        style={"input_type": "password"},
    )


class AccountSerializer(serializers.ModelSerializer):
    api_key = _secret_field(required=True)
    api_secret = _secret_field()
    access_token = _secret_field()
    api_key_hint = serializers.SerializerMethodField()
    has_api_secret = serializers.SerializerMethodField()
    has_access_token = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            *EDITABLE_FIELDS,
            "api_key",
            "api_secret",
            "access_token",
            "api_key_hint",
            "has_api_secret",
            "has_access_token",
            "status",
            "status_reason",
            "status_changed_at",
            "access_token_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "status_reason",
            "status_changed_at",
            "access_token_expires_at",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:  # updating: api_key may be omitted (kept)
            self.fields["api_key"].required = False

    @property
    def cipher(self) -> CredentialCipher:
        cipher: CredentialCipher = self.context["cipher"]
        return cipher

    def get_api_key_hint(self, account: Account) -> str:
        return account_api_key_hint(account, self.cipher)

    def get_has_api_secret(self, account: Account) -> bool:
        return bool(account.api_secret_encrypted)

    def get_has_access_token(self, account: Account) -> bool:
        return bool(account.access_token_encrypted)

    @staticmethod
    def _secrets(data: dict[str, Any]) -> SecretsUpdate:
        return SecretsUpdate(
            api_key=data.pop("api_key", None) or None,
            api_secret=data.pop("api_secret", None),
            access_token=data.pop("access_token", None),
        )

    def create(self, validated_data: dict[str, Any]) -> Account:
        secrets = self._secrets(validated_data)
        try:
            return account_create(cipher=self.cipher, secrets=secrets, **validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc

    def update(self, instance: Account, validated_data: dict[str, Any]) -> Account:
        secrets = self._secrets(validated_data)
        try:
            return account_update(
                account=instance, cipher=self.cipher, secrets=secrets, **validated_data
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc


class AccountPage(CountedCursorPage):
    ordering = ("name", "pk")


class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Account.objects.all().order_by("name")
    serializer_class = AccountSerializer
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = AccountPage

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "cipher": configured_cipher()}
