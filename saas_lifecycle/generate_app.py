"""The app database exports `users` and `accounts`, as change-data-capture rows.

Each entity has a first row at creation and one row per later change (role, e-mail,
company size, industry, name, soft delete), every row carrying the entity's full state at
its `updated_at`; some rows are delivered twice with the same `updated_at`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from saas_lifecycle.contract import ROLES
from saas_lifecycle.generate_columns import (
    decimal_ids,
    decode,
    numbers,
    rng_for,
    strings,
    timestamps,
)
from saas_lifecycle.generate_dirty import Generated, finish
from saas_lifecycle.generate_population import ADMIN, MEMBER, OWNER, SOLO, Population
from saas_lifecycle.generate_reference import (
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    NAME_WORDS_A,
    NAME_WORDS_B,
)

CDC_DUPLICATE_SHARE = 0.02  # exact re-deliveries of a CDC row (not bad rows)
NO_CHANGE = np.iinfo(np.int64).max


def user_ids(index: np.ndarray) -> pa.Array:
    return decimal_ids("usr_", index + 1)


def account_ids(index: np.ndarray) -> pa.Array:
    return decimal_ids("acc_", index + 1, width=7)


@dataclass
class _Changes:
    """Entities with a first row at `created` and optional changes at the given times."""

    created: np.ndarray
    times: dict[str, np.ndarray]  # attribute -> change time per entity (NO_CHANGE if none)

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(entity, updated_at) of every CDC row: the creation row, then one per change."""
        entity = [np.arange(self.created.size)]
        updated = [self.created]
        for at in self.times.values():
            changed = np.flatnonzero(at != NO_CHANGE)
            entity.append(changed)
            updated.append(at[changed])
        return np.concatenate(entity), np.concatenate(updated)

    def after(self, attribute: str, entity: np.ndarray, updated: np.ndarray) -> np.ndarray:
        """Whether the row already shows the attribute's change."""
        return self.times[attribute][entity] <= updated


def _change_time(
    rng: np.random.Generator,
    chance: np.ndarray | float,
    created: np.ndarray,
    end_us: int,
    low: float,
    high: float,
) -> np.ndarray:
    """A time between `low` and `high` of the way from creation to the window end, or none."""
    n = created.size
    at = created + (rng.uniform(low, high, n) * (end_us - created)).astype(np.int64)
    happens = (rng.random(n) < chance) & (at > created) & (at < end_us)
    return np.where(happens, at, NO_CHANGE)


def _with_duplicates(
    rng: np.random.Generator, entity: np.ndarray, updated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Add exact duplicate rows and order all rows by updated_at, as an export would."""
    twice = np.flatnonzero(rng.random(entity.size) < CDC_DUPLICATE_SHARE)
    source = np.concatenate([np.arange(entity.size), twice])
    order = source[np.argsort(updated[source], kind="stable")]
    return entity[order], updated[order], int(twice.size)


def _emails(rng: np.random.Generator, pop: Population, users: np.ndarray) -> list[str]:
    """first.last.<n>@acct<account>.example (a reserved domain: fake personal data)."""
    first = rng.integers(0, len(FIRST_NAMES), users.size).tolist()
    last = rng.integers(0, len(LAST_NAMES), users.size).tolist()
    accounts = (pop.u_account[users] + 1).tolist()
    return [
        f"{FIRST_NAMES[f]}.{LAST_NAMES[x]}.{u}@acct{a}.example"
        for f, x, u, a in zip(first, last, (users + 1).tolist(), accounts, strict=True)
    ]


def users_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """Users CDC: a row at sign-up, then role changes, e-mail changes and soft deletes."""
    rng = rng_for(seed, "users")
    n = pop.n_users  # orphans are missing from the export on purpose
    created = pop.u_signup[:n]
    role = pop.u_role[:n]
    changes = _Changes(
        created,
        {
            "role": _change_time(
                rng, np.where(role == OWNER, 0, 0.1), created, pop.end_us, 0.05, 0.6
            ),
            "email": _change_time(rng, 0.04, created, pop.end_us, 0.05, 0.6),
            "deleted": _change_time(rng, 0.025, created, pop.end_us, 0.6, 1.0),
        },
    )
    entity, updated = changes.rows()
    entity, updated, duplicates = _with_duplicates(rng, entity, updated)
    promoted = np.where(role == MEMBER, ADMIN, MEMBER)
    row_role = np.where(changes.after("role", entity, updated), promoted[entity], role[entity])
    row_role = np.where(rng.random(n)[entity] < 0.01, -1, row_role)  # role is optional
    # Old and new addresses in one vocabulary: code user (old) or n + user (changed).
    emails = strings(_emails(rng, pop, np.arange(n)) + _emails(rng, pop, np.arange(n)))
    email_code = entity + n * changes.after("email", entity, updated)
    email_code = np.where(rng.random(n)[entity] < 0.01, -1, email_code)  # e-mail is optional
    email = decode(email_code, emails)
    deleted = changes.after("deleted", entity, updated)
    clean = pa.Table.from_arrays(
        [
            user_ids(entity),
            account_ids(pop.u_account[entity]),
            email,
            decode(row_role, ROLES),
            timestamps(created[entity]),
            timestamps(updated),
            timestamps(np.where(deleted, changes.times["deleted"][entity], 0), valid=deleted),
        ],
        schema=schema,
    )
    return finish(clean, "users", dirty_rate, rng, notes={"duplicates": duplicates})


def accounts_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """Accounts CDC: a row at creation, then industry filled in, growth, renames."""
    rng = rng_for(seed, "accounts")
    n = pop.acc_created.size
    created = pop.acc_created
    size0 = pop.acc_size
    industry0 = pop.acc_industry
    changes = _Changes(
        created,
        {
            "industry": _change_time(
                rng, np.where(industry0 < 0, 0.6, 0.02), created, pop.end_us, 0.05, 0.5
            ),
            "size": _change_time(rng, 0.12, created, pop.end_us, 0.1, 0.9),
            "name": _change_time(rng, 0.03, created, pop.end_us, 0.1, 0.9),
        },
    )
    entity, updated = changes.rows()
    entity, updated, duplicates = _with_duplicates(rng, entity, updated)
    # Growth: a solo business hires (becomes smb), others grow by a fraction.
    grown = np.where(
        pop.acc_persona == SOLO,
        rng.integers(2, 12, n),
        np.round(np.maximum(size0, 2) * rng.uniform(1.1, 2.2, n)).astype(np.int64),
    )
    size = np.where(changes.after("size", entity, updated), grown[entity], size0[entity])
    industry1 = rng.integers(0, len(INDUSTRIES), n)
    industry = np.where(
        changes.after("industry", entity, updated), industry1[entity], industry0[entity]
    )
    names = [f"{a} {b}" for a in NAME_WORDS_A for b in NAME_WORDS_B]
    name0, name1 = rng.integers(0, len(names), n), rng.integers(0, len(names), n)
    name = np.where(changes.after("name", entity, updated), name1[entity], name0[entity])
    clean = pa.Table.from_arrays(
        [
            account_ids(entity),
            decode(name, names),
            numbers(size, valid=size >= 0),
            decode(industry, INDUSTRIES),
            timestamps(created[entity]),
            timestamps(updated),
        ],
        schema=schema,
    )
    return finish(clean, "accounts", dirty_rate, rng, notes={"duplicates": duplicates})
