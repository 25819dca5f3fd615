"""What dqlite supports, for SQLAlchemy's dialect compliance suite (``sqlalchemy.testing``).

Named in setup.cfg (``[sqla_testing] requirement_cls``) and loaded by SQLAlchemy's pytest
plugin only. ``SuiteRequirements`` keeps most features off by default; each property here
turns one on because dqlite (SQLite 3.40+ on every node) has it, or keeps it off with the
reason, so that every skipped test of the suite says why it does not apply to dqlite.

Features that depend on the server are decided by the dialect's flags, which the base
class already consults (RETURNING: only dqlite 1.18.2 and later, probed on connect).
"""

from __future__ import annotations

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements


def _no(reason: str) -> exclusions.compound:
    return exclusions.closed(reason)


def _yes() -> exclusions.compound:
    return exclusions.open()


class Requirements(SuiteRequirements):
    # -- DDL and constraints --------------------------------------------------------------

    @property
    def create_table(self):
        return _yes()

    @property
    def drop_table(self):
        return _yes()

    @property
    def table_ddl_if_exists(self):
        return _yes()

    @property
    def index_ddl_if_exists(self):
        return _yes()

    @property
    def foreign_keys(self):
        return _yes()

    @property
    def deferrable_fks(self):
        # SQLite accepts DEFERRABLE INITIALLY DEFERRED, but SQLAlchemy's SQLite DDL does not
        # render it and reflection does not report it.
        return _no("SQLite's dialect neither renders nor reflects DEFERRABLE")

    @property
    def on_update_cascade(self):
        return _yes()

    @property
    def self_referential_foreign_keys(self):
        return _yes()

    @property
    def foreign_key_ddl(self):
        return _yes()

    @property
    def named_constraints(self):
        return _yes()

    @property
    def unique_constraints_reflect_as_index(self):
        return _no("SQLite reflects UNIQUE constraints as constraints, not as indexes")

    @property
    def unnamed_constraints(self):
        return _yes()

    @property
    def nullable_booleans(self):
        # dqlite returns NULL in a column declared BOOLEAN as False; the dialect declares
        # Boolean columns BOOL, which the server leaves alone.
        return _yes()

    @property
    def implicitly_named_constraints(self):
        return _no("SQLite gives no name to a constraint declared without one")

    @property
    def alter_table(self):
        return _no("SQLite has no ALTER TABLE ... ADD CONSTRAINT/ALTER COLUMN")

    @property
    def comment_reflection(self):
        return _no("SQLite has no table or column comments")

    @property
    def comment_reflection_full_unicode(self):
        return _no("SQLite has no table or column comments")

    @property
    def constraint_comment_reflection(self):
        return _no("SQLite has no constraint comments")

    @property
    def column_collation_reflection(self):
        return _no("SQLAlchemy's SQLite dialect does not reflect column collations")

    @property
    def schemas(self):
        return _no(
            "schemas are ATTACHed databases in SQLite; dqlite does not replicate attached "
            "databases, so the dialect reports no schema support"
        )

    @property
    def schema_create_delete(self):
        return _no("SQLite has no CREATE SCHEMA / DROP SCHEMA")

    @property
    def implicit_default_schema(self):
        return _no("SQLite's default schema is 'main'; tables carry no implicit schema")

    @property
    def default_schema_name_switch(self):
        return _no("SQLite cannot change the default schema of a connection")

    @property
    def cross_schema_fk_reflection(self):
        return _no("no schemas on dqlite (see 'schemas')")

    # -- reflection ---------------------------------------------------------------------

    @property
    def table_reflection(self):
        return _yes()

    @property
    def reflect_tables_no_columns(self):
        return _no("SQLite cannot create a table without columns")

    @property
    def views(self):
        return _yes()

    @property
    def view_reflection(self):
        return _yes()

    @property
    def view_column_reflection(self):
        return _yes()

    @property
    def reflects_pk_names(self):
        return _yes()

    @property
    def foreign_key_constraint_name_reflection(self):
        return _yes()

    @property
    def foreign_key_constraint_option_reflection_ondelete(self):
        return _yes()

    @property
    def fk_constraint_option_reflection_ondelete_restrict(self):
        return _yes()

    @property
    def fk_constraint_option_reflection_ondelete_noaction(self):
        return _yes()

    @property
    def foreign_key_constraint_option_reflection_onupdate(self):
        return _yes()

    @property
    def fk_constraint_option_reflection_onupdate_restrict(self):
        return _yes()

    @property
    def primary_key_constraint_reflection(self):
        return _yes()

    @property
    def foreign_key_constraint_reflection(self):
        return _yes()

    @property
    def temp_table_reflection(self):
        return _yes()

    @property
    def temp_table_names(self):
        return _yes()

    @property
    def has_temp_table(self):
        return _yes()

    @property
    def temporary_tables(self):
        return _yes()

    @property
    def temporary_views(self):
        return _yes()

    @property
    def index_reflection(self):
        return _yes()

    @property
    def indexes_with_ascdesc(self):
        return _yes()

    @property
    def reflect_indexes_with_ascdesc(self):
        return _yes()

    @property
    def indexes_with_expressions(self):
        return _yes()

    @property
    def reflect_indexes_with_expressions(self):
        return _no("SQLite's PRAGMA index_info reports expression columns without the expression")

    @property
    def unique_constraint_reflection(self):
        return _yes()

    @property
    def check_constraint_reflection(self):
        return _yes()

    @property
    def inline_check_constraint_reflection(self):
        return _yes()

    @property
    def indexes_check_column_order(self):
        return _yes()

    @property
    def server_defaults(self):
        return _yes()

    @property
    def expression_server_defaults(self):
        return _yes()

    @property
    def nvarchar_types(self):
        return _yes()

    @property
    def repeated_column_foreign_keys(self):
        return _yes()

    @property
    def repeated_remote_col_foreign_keys(self):
        return _yes()

    @property
    def create_table_as(self):
        return _yes()

    @property
    def create_temp_table_as(self):
        return _yes()

    @property
    def create_or_replace_view(self):
        return _no("SQLite has no CREATE OR REPLACE VIEW")

    @property
    def temp_table_comment_reflection(self):
        return _no("SQLite has no table or column comments")

    @property
    def index_reflects_included_columns(self):
        return _no("SQLite indexes have no INCLUDE columns")

    @property
    def reflect_table_options(self):
        return _yes()

    @property
    def computed_columns(self):
        return _yes()

    @property
    def computed_columns_stored(self):
        return _yes()

    @property
    def computed_columns_virtual(self):
        return _yes()

    @property
    def computed_columns_default_persisted(self):
        return _no("SQLite's generated columns are VIRTUAL unless declared STORED")

    @property
    def computed_columns_reflect_persisted(self):
        return _yes()

    @property
    def identity_columns(self):
        return _no("SQLite has no IDENTITY columns")

    @property
    def identity_columns_standard(self):
        return _no("SQLite has no IDENTITY columns")

    @property
    def materialized_views(self):
        return _no("SQLite has no materialized views")

    @property
    def materialized_views_reflect_pk(self):
        return _no("SQLite has no materialized views")

    @property
    def unicode_ddl(self):
        return _yes()

    # -- SQL ------------------------------------------------------------------------------

    @property
    def intersect(self):
        return _yes()

    @property
    def except_(self):
        return _yes()

    @property
    def window_functions(self):
        return _yes()

    @property
    def window_range(self):
        return _yes()

    @property
    def window_range_numeric(self):
        return _yes()

    @property
    def window_range_non_numeric(self):
        return _no("SQLite's RANGE frames take numeric offsets only")

    @property
    def ctes(self):
        return _yes()

    @property
    def ctes_with_update_delete(self):
        return _yes()

    @property
    def ctes_with_values(self):
        return _yes()

    @property
    def ctes_on_dml(self):
        return _no("SQLite has no data-modifying statements inside WITH")

    @property
    def tuple_in(self):
        return _yes()

    @property
    def tuple_in_w_empty(self):
        return _yes()

    @property
    def delete_from(self):
        return _no("SQLite's DELETE has no FROM/USING for other tables")

    @property
    def update_from(self):
        return _yes()

    @property
    def mod_operator_as_percent_sign(self):
        return _yes()

    @property
    def empty_inserts(self):
        return _yes()

    @property
    def empty_inserts_executemany(self):
        return _yes()

    @property
    def insert_from_select(self):
        return _yes()

    @property
    def fetch_first(self):
        return _no("SQLite has LIMIT/OFFSET, not FETCH FIRST")

    @property
    def fetch_percent(self):
        return _no("SQLite has no FETCH FIRST ... PERCENT")

    @property
    def fetch_ties(self):
        return _no("SQLite has no FETCH FIRST ... WITH TIES")

    @property
    def fetch_no_order_by(self):
        return _no("SQLite has no FETCH FIRST")

    @property
    def fetch_offset_with_options(self):
        return _no("SQLite has no FETCH FIRST")

    @property
    def fetch_expression(self):
        return _yes()

    @property
    def regexp_match(self):
        return _no(
            "SQLite's REGEXP is a user-defined function; dqlite clients cannot register "
            "functions on the server (the dialect raises CompileError)"
        )

    @property
    def regexp_replace(self):
        return _no("no REGEXP on dqlite (see regexp_match)")

    @property
    def supports_distinct_on(self):
        return _no("SQLite has no DISTINCT ON")

    @property
    def order_by_label_with_expression(self):
        return _yes()

    @property
    def sql_expression_limit_offset(self):
        return _yes()

    @property
    def parens_in_union_contained_select_w_limit_offset(self):
        return _no("SQLite does not accept parenthesised SELECTs in a UNION")

    @property
    def parens_in_union_contained_select_wo_limit_offset(self):
        return _no("SQLite does not accept parenthesised SELECTs in a UNION")

    @property
    def nullsordering(self):
        return _yes()

    @property
    def standalone_binds(self):
        return _yes()

    @property
    def independent_cursors(self):
        return _yes()

    @property
    def table_value_constructor(self):
        return _no("SQLite cannot name the columns of a VALUES list: (VALUES ...) AS t (a, b)")

    @property
    def supports_bitwise_or(self):
        return _yes()

    @property
    def supports_bitwise_and(self):
        return _yes()

    @property
    def supports_bitwise_not(self):
        return _yes()

    @property
    def supports_bitwise_xor(self):
        return _no("SQLite has no XOR operator")

    @property
    def supports_bitwise_shift(self):
        return _yes()

    @property
    def percent_schema_names(self):
        return _yes()

    @property
    def like_escapes(self):
        return _yes()

    @property
    def array_type(self):
        return _no("SQLite has no ARRAY type")

    @property
    def uuid_data_type(self):
        return _no("SQLite has no native UUID type (Uuid is stored as CHAR(32))")

    # -- types ----------------------------------------------------------------------------

    @property
    def unbounded_varchar(self):
        return _yes()

    @property
    def json_type(self):
        return _yes()

    @property
    def json_index_supplementary_unicode_element(self):
        return _no(
            "SQLite's JSON path lookup does not match keys with supplementary-plane "
            "characters (the same exclusion as SQLAlchemy's own SQLite requirements)"
        )

    @property
    def legacy_unconditional_json_extract(self):
        return _yes()

    @property
    def datetime_literals(self):
        return _no("SQLite stores dates as strings; a date literal comes back as a string")

    @property
    def datetime(self):
        return _yes()

    @property
    def datetime_microseconds(self):
        return _yes()

    @property
    def timestamp_microseconds(self):
        return _yes()

    @property
    def datetime_historic(self):
        return _yes()

    @property
    def date_historic(self):
        return _yes()

    @property
    def time_microseconds(self):
        return _yes()

    @property
    def datetime_interval(self):
        return _no("SQLite has no INTERVAL type")

    @property
    def datetime_timezone(self):
        return _no("SQLite's DATETIME keeps no time zone")

    @property
    def time_timezone(self):
        return _no("SQLite's TIME keeps no time zone")

    @property
    def date_implicit_bound(self):
        return _no("a date bound without a type arrives as text and comes back as text")

    @property
    def time_implicit_bound(self):
        return _no("a time bound without a type arrives as text and comes back as text")

    @property
    def datetime_implicit_bound(self):
        return _no("a datetime bound without a type arrives as text and comes back as text")

    @property
    def precision_numerics_general(self):
        return _yes()

    @property
    def precision_numerics_enotation_small(self):
        return _yes()

    @property
    def precision_numerics_enotation_large(self):
        return _no("SQLite stores NUMERIC as a double: large e-notation values lose digits")

    @property
    def precision_numerics_many_significant_digits(self):
        return _no("SQLite stores NUMERIC as a double: at most 15 significant digits")

    @property
    def precision_numerics_retains_significant_digits(self):
        return _no("SQLite stores NUMERIC as a double: trailing zeros are not kept")

    @property
    def numeric_received_as_decimal_untyped(self):
        return _no("SQLite returns NUMERIC values as float or int, not Decimal")

    @property
    def implicit_decimal_binds(self):
        return _no("a Decimal bound without a type is sent as a double")

    @property
    def infinity_floats(self):
        return _yes()

    @property
    def fetch_null_from_numeric(self):
        return _yes()

    @property
    def float_is_numeric(self):
        return _yes()

    @property
    def float_or_double_precision_behaves_generically(self):
        return _yes()

    @property
    def literal_float_coercion(self):
        return _yes()

    @property
    def floats_to_four_decimals(self):
        return _yes()

    @property
    def cast_precision_numerics_many_significant_digits(self):
        return _no("SQLite stores NUMERIC as a double: at most 15 significant digits")

    @property
    def binary_literals(self):
        return _yes()

    @property
    def binary_comparisons(self):
        return _yes()

    @property
    def unicode_data(self):
        return _yes()

    @property
    def empty_strings_varchar(self):
        return _yes()

    @property
    def empty_strings_text(self):
        return _yes()

    @property
    def expressions_against_unbounded_text(self):
        return _yes()

    # -- transactions, connections, driver ---------------------------------------------

    @property
    def savepoints(self):
        return _yes()

    @property
    def two_phase_transactions(self):
        return _no("dqlite has no two-phase commit")

    @property
    def isolation_level(self):
        return _yes()

    @property
    def autocommit(self):
        return _yes()

    @property
    def get_isolation_level_values(self):
        return _yes()

    @property
    def dbapi_lastrowid(self):
        return _yes()

    @property
    def emulated_lastrowid(self):
        return _yes()

    @property
    def emulated_lastrowid_even_with_sequences(self):
        return _no("SQLite has no sequences")

    @property
    def supports_lastrowid(self):
        return _yes()

    @property
    def arraysize(self):
        return _yes()

    @property
    def duplicate_key_raises_integrity_error(self):
        return _yes()

    @property
    def independent_connections(self):
        return _yes()

    @property
    def independent_readonly_connections(self):
        return _yes()

    @property
    def graceful_disconnects(self):
        return _yes()

    @property
    def ad_hoc_engines(self):
        return _yes()

    @property
    def unicode_connections(self):
        return _yes()

    @property
    def predictable_gc(self):
        return _yes()

    @property
    def skip_autocommit_rollback(self):
        return _yes()

    def get_isolation_levels(self, config):
        return {"default": "SERIALIZABLE", "supported": ["SERIALIZABLE", "AUTOCOMMIT"]}

    def get_order_by_collation(self, config):
        return "BINARY"
