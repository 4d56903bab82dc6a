//! Arrow schemas and versions of every robbench table: the one place a table and its columns are named.
