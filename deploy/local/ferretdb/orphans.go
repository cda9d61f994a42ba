package main

import (
	"database/sql"
	"log"
	"os"
	"path/filepath"
)

// FerretDB refuses to start ("no such table: _ferretdb_collections") when one database
// file of its directory has no metadata table: a file a crash truncated, or one SQLite
// created empty when something opened a database that was being dropped. Before the
// server starts, such files are set aside (renamed *.orphan) so every other database
// still opens; nothing is deleted.
func setAsideOrphans(dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return
	}
	for _, file := range files {
		if hasMetadata(file) {
			continue
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if _, err := os.Stat(file + suffix); err == nil {
				if err := os.Rename(file+suffix, file+suffix+".orphan"); err != nil {
					log.Printf("setting aside %s: %v", filepath.Base(file+suffix), err)
				}
			}
		}
		log.Printf("set aside %s: it has no FerretDB metadata table", filepath.Base(file))
	}
}

// hasMetadata reports whether a database file holds FerretDB's collections table (an
// unreadable file counts as having it: FerretDB then reports the real error).
func hasMetadata(file string) bool {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw")
	if err != nil {
		return true
	}
	defer db.Close()
	var n int
	err = db.QueryRow(
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_ferretdb_collections'`,
	).Scan(&n)
	if err != nil {
		return true
	}
	return n > 0
}
