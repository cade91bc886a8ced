// Package sql embeds the project's SQL files so the binary carries them: go:embed
// cannot reach a parent directory, so the files are exported from here.
package sql

import "embed"

// Migrations holds the golang-migrate files under migrations/
// (NNNNNN_name.up.sql / NNNNNN_name.down.sql).
//
//go:embed migrations/*.sql
var Migrations embed.FS

// BigQuery holds one GoogleSQL extraction query per source table, bigquery/<table>.sql
// ({{table}} templated from validated identifiers, values as @parameters).
//
//go:embed bigquery/*.sql
var BigQuery embed.FS

// Transform holds the transform statements under transform/, one statement per
// file, run in the order the transform runner lists them (transform/README.md).
//
//go:embed transform/*.sql
var Transform embed.FS

// BigQueryTransform holds the GoogleSQL transform, bigquery/transform/NNN_<table>.sql:
// one CREATE OR REPLACE TABLE … AS SELECT per source, aux and mart table, run in file
// order (bigquery/transform/README.md).
//
//go:embed bigquery/transform/*.sql
var BigQueryTransform embed.FS
