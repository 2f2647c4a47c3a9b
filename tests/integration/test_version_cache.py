"""The versions a process keeps of recent declarations (ADR 0013) never stand in for what the
database holds: a version added elsewhere, or a reference now naming another declaration, is
read from the database."""

from __future__ import annotations

from dataclasses import replace
from random import Random

from tests.factories import content, item

from manafidh.adapters.db import version_cache
from manafidh.services import declarations


def _submit(container, trader, **over):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(**over), rng=Random(1)
        )


def _load(container, key):
    with container.uow(readonly=True) as uow:
        return uow.declarations.get_by_key(key)


def test_a_version_added_by_another_process_is_read_from_the_database(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader)
    url = container.engine.url
    first = list(decl.versions)
    with container.uow() as uow:
        declarations.amend(
            uow=uow,
            actor=trader,
            declaration_id=decl.id,
            content=content(items=[item(1), item(2)]),
            reason="second lorry's invoice",
            rng=Random(2),
        )
    # what a process that never saw the amendment still keeps
    version_cache.keep(url, decl.id, decl.reference, first)
    for key in (decl.id, decl.reference):
        loaded = _load(container, key)
        assert [v.number for v in loaded.versions] == [1, 2]
        assert len(loaded.current.content.items) == 2


def test_a_reference_kept_for_another_declaration_is_not_trusted(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, importer_name="Basra Cement Trading")
    stale = replace(decl.versions[0], content=content(importer_name="Somebody Else"))
    # a lodging that rolled back had taken this reference for another id
    version_cache.keep(container.engine.url, "0" * 32, decl.reference, [stale])
    loaded = _load(container, decl.reference)
    assert loaded.id == decl.id
    assert loaded.current.content.importer_name == "Basra Cement Trading"


def test_a_kept_declaration_loads_with_the_content_it_was_lodged_with(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, importer_name="Zakho Steel")
    version_cache.clear()
    cold = _load(container, decl.id)  # read in full, then kept
    warm = _load(container, decl.reference)  # its own row only, versions kept
    assert warm.versions == cold.versions
    assert warm.current.content.importer_name == "Zakho Steel"
    assert (warm.state, warm.lane, len(warm.versions)) == (cold.state, cold.lane, 1)


def test_a_declaration_read_after_lodging_shows_its_values_as_stored(container, make_user):
    # What was typed (10.50, 1000.000) and what the database gives back (10.5, 1000) are equal
    # numbers written differently: every process must show the same, stored, form.
    from decimal import Decimal

    trader = make_user("trader")
    typed = item(1, quantity=Decimal("10.50"), net_mass_kg=Decimal("1000.000"))
    decl = _submit(container, trader, items=[typed])
    first = _load(container, decl.id).current.content.items[0]
    version_cache.clear()
    fresh = _load(container, decl.id).current.content.items[0]
    assert (str(first.quantity), str(first.net_mass_kg)) == (
        str(fresh.quantity),
        str(fresh.net_mass_kg),
    )
