"""`/v1/users` (admin): owner accounts, who sign in to the consent pages. The password is write-only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, SecretStr, StrictStr

from tollgate_auth.api.deps import ServiceDep, require_admin
from tollgate_auth.api.schemas import Body, DataList
from tollgate_auth.domain.users import Role, User

router = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_admin)])


class UserIn(Body):
    email: StrictStr = Field(description="Sign-in email; stored lowercased, unique across tenants.")
    # SecretStr: a validation error or a repr never shows it.
    password: SecretStr = Field(description="At least 12 characters; stored only as an argon2id hash.")
    role: StrictStr = Field(default="user", description="admin, developer, user or read-only.")
    tenant_id: StrictStr | None = Field(default=None, description="The user's tenant; the default tenant if omitted.")


class UserOut(BaseModel):
    id: str
    tenant_id: str
    email: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, tenant_id=user.tenant_id, email=user.email, role=user.role, created_at=user.created_at)


@router.post("", status_code=201)
async def create_user(body: UserIn, service: ServiceDep) -> UserOut:
    """409 `user_exists` when the email has an account already (in any tenant)."""
    accounts = service.accounts
    user = await accounts.create_user(body.email, body.password.get_secret_value(), body.role, body.tenant_id)
    return UserOut.of(user)


@router.get("")
async def list_users(service: ServiceDep, tenant_id: str | None = None) -> DataList[UserOut]:
    """Every owner account, or one tenant's (never a password or its hash)."""
    return DataList(data=[UserOut.of(u) for u in await service.accounts.list_users(tenant_id)])
