"""Every target table's loader, in load order (parents before the tables that reference them)."""

from __future__ import annotations

from kgv_assets.transform.tables.application_history import ApplicationHistoryLoader
from kgv_assets.transform.tables.applications import ApplicationsLoader
from kgv_assets.transform.tables.cadastral_districts import CadastralDistrictsLoader
from kgv_assets.transform.tables.district_cadastral_links import DistrictCadastralLinksLoader
from kgv_assets.transform.tables.districts import DistrictsLoader
from kgv_assets.transform.tables.entry_numbers import EntryNumbersLoader
from kgv_assets.transform.tables.field_mappings import FieldMappingsLoader
from kgv_assets.transform.tables.file_references import FileReferencesLoader
from kgv_assets.transform.tables.identifiers import IdentifiersLoader
from kgv_assets.transform.tables.mapping import RuleLoader
from kgv_assets.transform.tables.users import UsersLoader

LOADERS: tuple[type[RuleLoader], ...] = (
    DistrictsLoader,
    CadastralDistrictsLoader,
    DistrictCadastralLinksLoader,
    FileReferencesLoader,
    EntryNumbersLoader,
    ApplicationsLoader,
    ApplicationHistoryLoader,
    UsersLoader,
    IdentifiersLoader,
    FieldMappingsLoader,
)
