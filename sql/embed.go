// Package sql embeds the project's SQL files so the binary carries them: go:embed
// cannot reach a parent directory, so the files are exported from here.
package sql

import "embed"

// Migrations holds the golang-migrate files under migrations/
// (NNNNNN_name.up.sql / NNNNNN_name.down.sql).
//
//go:embed migrations/*.sql
var Migrations embed.FS
