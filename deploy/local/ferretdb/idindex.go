package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
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
	dir  string
	dbs  map[string]*sql.DB
	done map[string]bool
}

func newIDIndexer(dir string) *idIndexer {
	return &idIndexer{dir: dir, dbs: map[string]*sql.DB{}, done: map[string]bool{}}
}

func (x *idIndexer) run(ctx context.Context) {
	ticker := time.NewTicker(sweepEvery)
	defer ticker.Stop()
	for {
		x.sweep(ctx)
		select {
		case <-ctx.Done():
			for _, db := range x.dbs {
				_ = db.Close()
			}
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
	for _, file := range files {
		db, ok := x.dbs[file]
		if !ok {
			db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
			if err != nil {
				continue
			}
			db.SetMaxOpenConns(1)
			x.dbs[file] = db
		}
		if err := x.indexTables(ctx, file, db); err != nil && !strings.Contains(err.Error(), "no such table") {
			log.Printf("id index sweep of %s: %v", filepath.Base(file), err)
		}
	}
}

func (x *idIndexer) indexTables(ctx context.Context, file string, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		key := file + "\x00" + t
		if x.done[key] {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_id_lookup", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped meanwhile
			}
			return err
		}
		x.done[key] = true
	}
	return nil
}
