"""A password hashed at a different cost (bulk import) is moved to the configured cost at sign-in."""

from argon2 import PasswordHasher
from sqlalchemy import select

from carebridge.auth.models import Role, User
from carebridge.auth.passwords import hasher


async def test_sign_in_rehashes_a_password_stored_at_another_cost(client, world, db):
    facility = await world.facility()
    user = await world.user((Role.doctor, facility.id), username="imported.admin")
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash("one-time-secret-123")
    await db.flush()
    assert hasher().check_needs_rehash(user.password_hash)

    response = await client.post("/login", data={"username": "imported.admin", "password": "one-time-secret-123"})

    assert response.status_code == 303
    stored = await db.scalar(select(User.password_hash).where(User.id == user.id).execution_options(
        populate_existing=True))
    assert not hasher().check_needs_rehash(stored)
    assert hasher().verify(stored, "one-time-secret-123")
