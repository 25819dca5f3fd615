"""What dqlite supports, for SQLAlchemy's dialect compliance suite (``sqlalchemy.testing``).

Named in setup.cfg (``[sqla_testing] requirement_cls``) and loaded by SQLAlchemy's pytest
plugin only. ``SuiteRequirements`` keeps most features off by default; each property here
turns one on because dqlite (SQLite 3.40+ on every node) has it, or keeps it off with the
reason, so that every skipped test of the suite says why it does not apply to dqlite.

Features that depend on the server are decided by the dialect's flags, which the base
class already consults (RETURNING: only dqlite 1.18.2 and later, probed on connect).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements

_exclusions: Any = exclusions  # sqlalchemy.testing.exclusions is not annotated


def _no(reason: str) -> exclusions.compound:
    """Feature absent on dqlite, and why (shown as the skip reason)."""
    return cast(exclusions.compound, _exclusions.closed(reason))


def _yes() -> exclusions.compound:
    """Feature present on dqlite."""
    return cast(exclusions.compound, _exclusions.open())


class Requirements(SuiteRequirements):
    # -- DDL and constraints --------------------------------------------------------------

    @property
    def create_table(self) -> exclusions.compound:
        return _yes()

    @property
    def drop_table(self) -> exclusions.compound:
        return _yes()

    @property
    def table_ddl_if_exists(self) -> exclusions.compound:
        return _yes()

    @property
    def index_ddl_if_exists(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_keys(self) -> exclusions.compound:
        return _yes()

    @property
    def deferrable_fks(self) -> exclusions.compound:
        return _yes()

    @property
    def on_update_cascade(self) -> exclusions.compound:
        return _yes()

    @property
    def self_referential_foreign_keys(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_key_ddl(self) -> exclusions.compound:
        return _yes()

    @property
    def named_constraints(self) -> exclusions.compound:
        return _yes()

    @property
    def unique_constraints_reflect_as_index(self) -> exclusions.compound:
        return _no("SQLite reflects UNIQUE constraints as constraints, not as indexes")

    @property
    def unnamed_constraints(self) -> exclusions.compound:
        return _yes()

    @property
    def nullable_booleans(self) -> exclusions.compound:
        # dqlite returns NULL in a column declared BOOLEAN as False; the dialect declares
        # Boolean columns BOOL, which the server leaves alone.
        return _yes()

    @property
    def implicitly_named_constraints(self) -> exclusions.compound:
        return _no("SQLite gives no name to a constraint declared without one")

    @property
    def alter_table(self) -> exclusions.compound:
        return _no("SQLite has no ALTER TABLE ... ADD CONSTRAINT/ALTER COLUMN")

    @property
    def comment_reflection(self) -> exclusions.compound:
        return _no("SQLite has no table or column comments")

    @property
    def comment_reflection_full_unicode(self) -> exclusions.compound:
        return _no("SQLite has no table or column comments")

    @property
    def constraint_comment_reflection(self) -> exclusions.compound:
        return _no("SQLite has no constraint comments")

    @property
    def column_collation_reflection(self) -> exclusions.compound:
        return _no("SQLAlchemy's SQLite dialect does not reflect column collations")

    @property
    def schemas(self) -> exclusions.compound:
        return _no(
            "schemas are ATTACHed databases in SQLite; dqlite does not replicate attached "
            "databases, so the dialect reports no schema support"
        )

    @property
    def schema_create_delete(self) -> exclusions.compound:
        return _no("SQLite has no CREATE SCHEMA / DROP SCHEMA")

    @property
    def implicit_default_schema(self) -> exclusions.compound:
        return _no("SQLite's default schema is 'main'; tables carry no implicit schema")

    @property
    def default_schema_name_switch(self) -> exclusions.compound:
        return _no("SQLite cannot change the default schema of a connection")

    @property
    def cross_schema_fk_reflection(self) -> exclusions.compound:
        return _no("no schemas on dqlite (see 'schemas')")

    # -- reflection ---------------------------------------------------------------------

    @property
    def table_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def reflect_tables_no_columns(self) -> exclusions.compound:
        return _no("SQLite cannot create a table without columns")

    @property
    def views(self) -> exclusions.compound:
        return _yes()

    @property
    def view_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def view_column_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def reflects_pk_names(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_key_constraint_name_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_key_constraint_option_reflection_ondelete(self) -> exclusions.compound:
        return _yes()

    @property
    def fk_constraint_option_reflection_ondelete_restrict(self) -> exclusions.compound:
        return _yes()

    @property
    def fk_constraint_option_reflection_ondelete_noaction(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_key_constraint_option_reflection_onupdate(self) -> exclusions.compound:
        return _yes()

    @property
    def fk_constraint_option_reflection_onupdate_restrict(self) -> exclusions.compound:
        return _yes()

    @property
    def primary_key_constraint_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def foreign_key_constraint_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def temp_table_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def temp_table_names(self) -> exclusions.compound:
        return _yes()

    @property
    def has_temp_table(self) -> exclusions.compound:
        return _yes()

    @property
    def temporary_tables(self) -> exclusions.compound:
        return _yes()

    @property
    def temporary_views(self) -> exclusions.compound:
        return _yes()

    @property
    def index_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def indexes_with_ascdesc(self) -> exclusions.compound:
        return _yes()

    @property
    def reflect_indexes_with_ascdesc(self) -> exclusions.compound:
        return _yes()

    @property
    def indexes_with_expressions(self) -> exclusions.compound:
        return _yes()

    @property
    def reflect_indexes_with_expressions(self) -> exclusions.compound:
        return _no("SQLite's PRAGMA index_info reports expression columns without the expression")

    @property
    def unique_constraint_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def check_constraint_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def inline_check_constraint_reflection(self) -> exclusions.compound:
        return _yes()

    @property
    def indexes_check_column_order(self) -> exclusions.compound:
        return _yes()

    @property
    def server_defaults(self) -> exclusions.compound:
        return _yes()

    @property
    def expression_server_defaults(self) -> exclusions.compound:
        return _yes()

    @property
    def nvarchar_types(self) -> exclusions.compound:
        return _yes()

    @property
    def repeated_column_foreign_keys(self) -> exclusions.compound:
        return _yes()

    @property
    def repeated_remote_col_foreign_keys(self) -> exclusions.compound:
        return _yes()

    @property
    def create_table_as(self) -> exclusions.compound:
        return _yes()

    @property
    def create_temp_table_as(self) -> exclusions.compound:
        return _yes()

    @property
    def create_or_replace_view(self) -> exclusions.compound:
        return _no("SQLite has no CREATE OR REPLACE VIEW")

    @property
    def temp_table_comment_reflection(self) -> exclusions.compound:
        return _no("SQLite has no table or column comments")

    @property
    def index_reflects_included_columns(self) -> exclusions.compound:
        return _no("SQLite indexes have no INCLUDE columns")

    @property
    def reflect_table_options(self) -> exclusions.compound:
        return _yes()

    @property
    def computed_columns(self) -> exclusions.compound:
        return _yes()

    @property
    def computed_columns_stored(self) -> exclusions.compound:
        return _yes()

    @property
    def computed_columns_virtual(self) -> exclusions.compound:
        return _yes()

    @property
    def computed_columns_default_persisted(self) -> exclusions.compound:
        return _no("SQLite's generated columns are VIRTUAL unless declared STORED")

    @property
    def computed_columns_reflect_persisted(self) -> exclusions.compound:
        return _yes()

    @property
    def identity_columns(self) -> exclusions.compound:
        return _no("SQLite has no IDENTITY columns")

    @property
    def identity_columns_standard(self) -> exclusions.compound:
        return _no("SQLite has no IDENTITY columns")

    @property
    def materialized_views(self) -> exclusions.compound:
        return _no("SQLite has no materialized views")

    @property
    def materialized_views_reflect_pk(self) -> exclusions.compound:
        return _no("SQLite has no materialized views")

    @property
    def unicode_ddl(self) -> exclusions.compound:
        return _yes()

    # -- SQL ------------------------------------------------------------------------------

    @property
    def intersect(self) -> exclusions.compound:
        return _yes()

    @property
    def except_(self) -> exclusions.compound:
        return _yes()

    @property
    def window_functions(self) -> exclusions.compound:
        return _yes()

    @property
    def window_range(self) -> exclusions.compound:
        return _yes()

    @property
    def window_range_numeric(self) -> exclusions.compound:
        return _yes()

    @property
    def window_range_non_numeric(self) -> exclusions.compound:
        return _no("SQLite's RANGE frames take numeric offsets only")

    @property
    def ctes(self) -> exclusions.compound:
        return _yes()

    @property
    def ctes_with_update_delete(self) -> exclusions.compound:
        return _yes()

    @property
    def ctes_with_values(self) -> exclusions.compound:
        return _yes()

    @property
    def ctes_on_dml(self) -> exclusions.compound:
        return _no("SQLite has no data-modifying statements inside WITH")

    @property
    def tuple_in(self) -> exclusions.compound:
        return _yes()

    @property
    def tuple_in_w_empty(self) -> exclusions.compound:
        return _yes()

    @property
    def delete_from(self) -> exclusions.compound:
        return _no("SQLite's DELETE has no FROM/USING for other tables")

    @property
    def update_from(self) -> exclusions.compound:
        return _yes()

    @property
    def mod_operator_as_percent_sign(self) -> exclusions.compound:
        return _yes()

    @property
    def empty_inserts(self) -> exclusions.compound:
        return _yes()

    @property
    def empty_inserts_executemany(self) -> exclusions.compound:
        return _yes()

    @property
    def insert_from_select(self) -> exclusions.compound:
        return _yes()

    @property
    def fetch_first(self) -> exclusions.compound:
        return _no("SQLite has LIMIT/OFFSET, not FETCH FIRST")

    @property
    def fetch_percent(self) -> exclusions.compound:
        return _no("SQLite has no FETCH FIRST ... PERCENT")

    @property
    def fetch_ties(self) -> exclusions.compound:
        return _no("SQLite has no FETCH FIRST ... WITH TIES")

    @property
    def fetch_no_order_by(self) -> exclusions.compound:
        return _no("SQLite has no FETCH FIRST")

    @property
    def fetch_offset_with_options(self) -> exclusions.compound:
        return _no("SQLite has no FETCH FIRST")

    @property
    def fetch_expression(self) -> exclusions.compound:
        return _yes()

    @property
    def regexp_match(self) -> exclusions.compound:
        return _no(
            "SQLite's REGEXP is a user-defined function; dqlite clients cannot register "
            "functions on the server (the dialect raises CompileError)"
        )

    @property
    def regexp_replace(self) -> exclusions.compound:
        return _no("no REGEXP on dqlite (see regexp_match)")

    @property
    def supports_distinct_on(self) -> exclusions.compound:
        return _no("SQLite has no DISTINCT ON")

    @property
    def order_by_label_with_expression(self) -> exclusions.compound:
        return _yes()

    @property
    def sql_expression_limit_offset(self) -> exclusions.compound:
        return _yes()

    @property
    def parens_in_union_contained_select_w_limit_offset(self) -> exclusions.compound:
        return _no("SQLite does not accept parenthesised SELECTs in a UNION")

    @property
    def parens_in_union_contained_select_wo_limit_offset(self) -> exclusions.compound:
        return _no("SQLite does not accept parenthesised SELECTs in a UNION")

    @property
    def nullsordering(self) -> exclusions.compound:
        return _yes()

    @property
    def standalone_binds(self) -> exclusions.compound:
        return _yes()

    @property
    def independent_cursors(self) -> exclusions.compound:
        return _yes()

    @property
    def table_value_constructor(self) -> exclusions.compound:
        return _no("SQLite cannot name the columns of a VALUES list: (VALUES ...) AS t (a, b)")

    @property
    def supports_bitwise_or(self) -> exclusions.compound:
        return _yes()

    @property
    def supports_bitwise_and(self) -> exclusions.compound:
        return _yes()

    @property
    def supports_bitwise_not(self) -> exclusions.compound:
        return _yes()

    @property
    def supports_bitwise_xor(self) -> exclusions.compound:
        return _yes()

    @property
    def supports_bitwise_shift(self) -> exclusions.compound:
        return _yes()

    @property
    def percent_schema_names(self) -> exclusions.compound:
        return _yes()

    @property
    def like_escapes(self) -> exclusions.compound:
        return _yes()

    @property
    def array_type(self) -> exclusions.compound:
        return _no("SQLite has no ARRAY type")

    @property
    def uuid_data_type(self) -> exclusions.compound:
        return _no("SQLite has no native UUID type (Uuid is stored as CHAR(32))")

    # -- types ----------------------------------------------------------------------------

    @property
    def unbounded_varchar(self) -> exclusions.compound:
        return _yes()

    @property
    def json_type(self) -> exclusions.compound:
        return _yes()

    @property
    def json_index_supplementary_unicode_element(self) -> exclusions.compound:
        return _yes()

    @property
    def legacy_unconditional_json_extract(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime_literals(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime_microseconds(self) -> exclusions.compound:
        return _yes()

    @property
    def timestamp_microseconds(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime_historic(self) -> exclusions.compound:
        return _yes()

    @property
    def date_historic(self) -> exclusions.compound:
        return _yes()

    @property
    def time_microseconds(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime_interval(self) -> exclusions.compound:
        return _no("SQLite has no INTERVAL type")

    @property
    def datetime_timezone(self) -> exclusions.compound:
        # Stored as ISO 8601 text with the UTC offset (as sqlalchemy-dqlite 0.8 does).
        return _yes()

    @property
    def time_timezone(self) -> exclusions.compound:
        # Stored as ISO 8601 text with the UTC offset (as sqlalchemy-dqlite 0.8 does).
        return _yes()

    @property
    def date_implicit_bound(self) -> exclusions.compound:
        return _yes()

    @property
    def time_implicit_bound(self) -> exclusions.compound:
        return _yes()

    @property
    def datetime_implicit_bound(self) -> exclusions.compound:
        return _yes()

    @property
    def precision_numerics_general(self) -> exclusions.compound:
        return _yes()

    @property
    def precision_numerics_enotation_small(self) -> exclusions.compound:
        return _yes()

    @property
    def precision_numerics_enotation_large(self) -> exclusions.compound:
        return _yes()

    @property
    def precision_numerics_many_significant_digits(self) -> exclusions.compound:
        return _no("SQLite stores NUMERIC as a double: at most 15 significant digits")

    @property
    def precision_numerics_retains_significant_digits(self) -> exclusions.compound:
        return _yes()

    @property
    def numeric_received_as_decimal_untyped(self) -> exclusions.compound:
        return _yes()

    @property
    def implicit_decimal_binds(self) -> exclusions.compound:
        return _yes()

    @property
    def infinity_floats(self) -> exclusions.compound:
        return _yes()

    @property
    def fetch_null_from_numeric(self) -> exclusions.compound:
        return _yes()

    @property
    def float_is_numeric(self) -> exclusions.compound:
        return _yes()

    @property
    def float_or_double_precision_behaves_generically(self) -> exclusions.compound:
        return _yes()

    @property
    def literal_float_coercion(self) -> exclusions.compound:
        return _yes()

    @property
    def floats_to_four_decimals(self) -> exclusions.compound:
        return _yes()

    @property
    def cast_precision_numerics_many_significant_digits(self) -> exclusions.compound:
        return _no("SQLite stores NUMERIC as a double: at most 15 significant digits")

    @property
    def binary_literals(self) -> exclusions.compound:
        return _yes()

    @property
    def binary_comparisons(self) -> exclusions.compound:
        return _yes()

    @property
    def unicode_data(self) -> exclusions.compound:
        return _yes()

    @property
    def empty_strings_varchar(self) -> exclusions.compound:
        return _yes()

    @property
    def empty_strings_text(self) -> exclusions.compound:
        return _yes()

    @property
    def expressions_against_unbounded_text(self) -> exclusions.compound:
        return _yes()

    # -- transactions, connections, driver ---------------------------------------------

    @property
    def savepoints(self) -> exclusions.compound:
        return _yes()

    @property
    def two_phase_transactions(self) -> exclusions.compound:
        return _no("dqlite has no two-phase commit")

    @property
    def isolation_level(self) -> exclusions.compound:
        return _yes()

    @property
    def autocommit(self) -> exclusions.compound:
        return _yes()

    @property
    def get_isolation_level_values(self) -> exclusions.compound:
        return _yes()

    @property
    def dbapi_lastrowid(self) -> exclusions.compound:
        return _yes()

    @property
    def emulated_lastrowid(self) -> exclusions.compound:
        return _yes()

    @property
    def emulated_lastrowid_even_with_sequences(self) -> exclusions.compound:
        return _no("SQLite has no sequences")

    @property
    def supports_lastrowid(self) -> exclusions.compound:
        return _yes()

    @property
    def arraysize(self) -> exclusions.compound:
        return _yes()

    @property
    def duplicate_key_raises_integrity_error(self) -> exclusions.compound:
        return _yes()

    @property
    def independent_connections(self) -> exclusions.compound:
        return _yes()

    @property
    def independent_readonly_connections(self) -> exclusions.compound:
        return _yes()

    @property
    def graceful_disconnects(self) -> exclusions.compound:
        return _yes()

    @property
    def ad_hoc_engines(self) -> exclusions.compound:
        return _yes()

    @property
    def unicode_connections(self) -> exclusions.compound:
        return _yes()

    @property
    def predictable_gc(self) -> exclusions.compound:
        return _yes()

    @property
    def skip_autocommit_rollback(self) -> exclusions.compound:
        return _yes()

    def get_isolation_levels(self, config: Any) -> dict[str, Any]:
        return {"default": "SERIALIZABLE", "supported": ["SERIALIZABLE", "AUTOCOMMIT"]}

    def get_order_by_collation(self, config: Any) -> str:
        return "BINARY"
