"""Who may read or act on a declaration: role, crossing and ownership together."""

from __future__ import annotations

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import Forbidden, NotFound
from manafidh.domain.identity import Permission, User
from manafidh.services.ports import UnitOfWork


def can_read(user: User, declaration: Declaration) -> bool:
    """True when ``user`` may see ``declaration``."""
    if user.can(Permission.READ_ALL):
        return True
    if user.can(Permission.READ_CROSSING) and user.works_at(declaration.crossing_code):
        return True
    return user.can(Permission.READ_OWN) and declaration.declarant_id == user.id


def load_for(uow: UnitOfWork, user: User, declaration_id: str) -> Declaration:
    """Load a declaration the user may read, by id or reference, or raise NotFound/Forbidden."""
    decl = uow.declarations.get_by_key(declaration_id)
    if decl is None:
        raise NotFound(f"no declaration {declaration_id}", declaration=declaration_id)
    if not can_read(user, decl):
        if user.can(Permission.READ_OWN) and not user.can(Permission.READ_CROSSING):
            # A trader learns nothing about other traders' declarations, not even that they exist.
            raise NotFound(f"no declaration {declaration_id}", declaration=declaration_id)
        raise Forbidden(
            f"{user.username} is not posted at crossing {decl.crossing_code}",
            crossing=decl.crossing_code,
        )
    return decl


def require_at(user: User, permission: Permission, declaration: Declaration) -> None:
    """Raise unless ``user`` may do ``permission`` at the declaration's crossing."""
    user.require(permission, declaration.crossing_code)
