"""Creating local accounts and the instance actor."""

from __future__ import annotations

import asyncio

from fediverse_node.crypto.keys import generate_rsa_key_pair
from fediverse_node.crypto.passwords import generate_password, hash_password
from fediverse_node.domain.accounts import Account, ActorType, is_valid_username, USERNAME_MAX_LENGTH
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store


class InvalidUsername(ValueError):
    pass


async def create_local_user(services: Services, username: str, password: str | None = None,
                            is_admin: bool = False, is_bot: bool = False,
                            display_name: str = "") -> tuple[Account, str]:
    """Create an account with a fresh RSA-2048 key; returns it and the password (generated if not given)."""
    if not is_valid_username(username):
        raise InvalidUsername(f"username {username!r} is not allowed: use up to {USERNAME_MAX_LENGTH} "
                              "letters, digits and underscores")
    password = password or generate_password()
    password_hash = await asyncio.to_thread(hash_password, services.passwords, password)
    key_pair = await asyncio.to_thread(generate_rsa_key_pair)
    uri = services.urls.actor(username)
    new = account_store.NewLocalAccount(
        username=username, uri=uri, url=services.urls.profile_page(username),
        inbox_url=services.urls.inbox(uri), shared_inbox_url=services.urls.shared_inbox(),
        public_key_pem=key_pair.public_pem, private_key_pem=key_pair.private_pem,
        actor_type=ActorType.SERVICE if is_bot else ActorType.PERSON, display_name=display_name)
    async with services.database.write() as conn:
        account = await account_store.create_local_account(conn, new, password_hash, is_admin=is_admin)
    return account, password


async def ensure_instance_actor(services: Services) -> Account:
    """The Application actor at /actor that signs the node's own fetches. Idempotent."""
    urls = services.urls
    async with services.database.read() as conn:
        existing = await account_store.get_account_by_uri(conn, urls.instance_actor())
    if existing is not None:
        return existing
    key_pair = await asyncio.to_thread(generate_rsa_key_pair)
    uri = urls.instance_actor()
    new = account_store.NewLocalAccount(
        username=urls.domain, uri=uri, url=urls.base_url + "/about", inbox_url=urls.inbox(uri),
        shared_inbox_url=urls.shared_inbox(), public_key_pem=key_pair.public_pem,
        private_key_pem=key_pair.private_pem, actor_type=ActorType.APPLICATION,
        display_name=services.settings.instance.name, manually_approves_followers=True)
    async with services.database.write() as conn:
        return await account_store.create_local_account(conn, new, password_hash="!")
