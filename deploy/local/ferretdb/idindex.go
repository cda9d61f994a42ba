package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the same pure-Go driver FerretDB uses
)

// FerretDB 1.24's SQLite backend indexes `_id` as `_ferretdb_sjson->"_id"` but queries it as
// `_ferretdb_sjson->'$._id'`; SQLite uses an expression index only for the same expression,
// so every lookup by _id scans the whole collection. Until upstream fixes the mismatch, add
// an index on the queried expression to every collection table.

const sweepEvery = 2 * time.Second

type idIndexer struct {
	dir string
	// When each file was last seen changed and fully indexed: an unchanged file (and its
	// write-ahead log) needs no look, so an idle server does almost nothing. Connections
	// are opened only for a look and closed after it: a handle kept on a dropped
	// database would keep its write-ahead log alive and break one created again under the
	// same name.
	seen map[string]time.Time
}

func newIDIndexer(dir string) *idIndexer {
	return &idIndexer{dir: dir, seen: map[string]time.Time{}}
}

// changedAt is the latest modification of a database file or its write-ahead log.
func changedAt(file string) time.Time {
	var latest time.Time
	for _, f := range []string{file, file + "-wal"} {
		if info, err := os.Stat(f); err == nil && info.ModTime().After(latest) {
			latest = info.ModTime()
		}
	}
	return latest
}

func (x *idIndexer) run(ctx context.Context) {
	ticker := time.NewTicker(sweepEvery)
	defer ticker.Stop()
	for {
		x.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (x *idIndexer) sweep(ctx context.Context) {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return
	}
	present := make(map[string]bool, len(files))
	for _, file := range files {
		present[file] = true
		modified := changedAt(file)
		if last, ok := x.seen[file]; ok && !modified.After(last) {
			continue
		}
		if err := x.indexFile(ctx, file); err != nil {
			if !strings.Contains(err.Error(), "no such table") {
				log.Printf("id index sweep of %s: %v", filepath.Base(file), err)
			}
			continue
		}
		x.seen[file] = modified
	}
	for file := range x.seen {
		if !present[file] {
			delete(x.seen, file)
		}
	}
}

// indexFile opens one database file, adds the missing indexes, and closes it again.
func (x *idIndexer) indexFile(ctx context.Context, file string) error {
	// mode=rw: a database dropped since the glob must stay gone, not come back empty.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return x.indexTables(ctx, db)
}

func (x *idIndexer) indexTables(ctx context.Context, db *sql.DB) error {
	tables, err := column(ctx, db, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	// Ask SQLite which indexes exist now, every sweep: a collection dropped and created
	// again under the same table name has lost its index, and must get it back.
	existing, err := column(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(existing))
	for _, name := range existing {
		have[name] = true
	}
	for _, t := range tables {
		name := t + "_id_lookup"
		if have[name] {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, name, t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped meanwhile
			}
			return err
		}
	}
	return nil
}

// column runs a query returning one text column.
func column(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
}
