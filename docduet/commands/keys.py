"""``docduet keys``: create, list and revoke the API keys of ``docduet serve`` (docs/api.md)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from core.errors import ConfigError
from core.identity import UserDirectory
from core.settings import Settings
from docduet.api.keys import KeyStore, key_file


def register(sub: Any) -> None:
    p = sub.add_parser(
        "keys",
        help="create, list and revoke API keys for docduet serve",
        description="API keys let a program call `docduet serve` as a users-file user, with that "
        "user's groups (looked up at each request). A key is shown once, when created; only its "
        "hash is kept, in DATA_DIR/api-keys.json (0600). A revoked key stops working at the next "
        "request, also on a running server.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key for a user and print it (once)")
    create.add_argument("--user", required=True, help="a user name or e-mail from DOCDUET_USERS_FILE")
    create.add_argument("--note", default="", help="what the key is for (shown by list)")
    create.set_defaults(run=_create)
    revoke = actions.add_parser("revoke", help="revoke a key by its id, or every key of a user")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("key_id", nargs="?", help="the key's id, as `docduet keys list` shows it")
    target.add_argument("--user", help="revoke every active key of this user")
    revoke.set_defaults(run=_revoke)
    listing = actions.add_parser("list", help="list the keys (ids, users, dates; never the keys)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)


def _store(settings: Settings) -> KeyStore:
    return KeyStore(key_file(settings.paths.data_dir))


def _create(args: argparse.Namespace) -> int:
    settings = Settings()
    directory = UserDirectory.from_settings(settings.identity)
    try:
        user = directory.resolve(args.user)
    except ConfigError as e:
        raise ConfigError(
            f"unknown user {args.user!r}; known users: {', '.join(directory.names()) or '(none)'}. "
            "A key acts for a user of the users file (DOCDUET_USERS_FILE): add them there first"
        ) from e
    if user.name is None:
        raise ConfigError("give --user a users-file name or e-mail")
    record, key = _store(settings).create(user.name, note=args.note)
    print(
        f"API key {record.key_id} for {user.name} (groups: {', '.join(user.groups) or 'none'}).",
        file=sys.stderr,
    )
    print("Store it now: it is not shown again. Send it as Authorization: Bearer <key>.", file=sys.stderr)
    print(key)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    revoked = _store(Settings()).revoke(args.key_id, user=args.user)
    for key in revoked:
        print(f"revoked {key.key_id} ({key.user})")
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = _store(Settings()).all()
    if args.json:
        print(json.dumps([{k: v for k, v in asdict(key).items() if k != "sha256"} for key in keys], indent=2))
        return 0
    if not keys:
        print("no API keys; create one with `docduet keys create --user NAME`")
    for key in keys:
        state = f"revoked {key.revoked}" if key.revoked else "active"
        print(f"{key.key_id}  {key.user:<24} created {key.created}  {state}  {key.note}")
    return 0
