// Command ferretdb-local runs FerretDB's embeddable server with its SQLite backend, or with
// its PostgreSQL backend when --postgresql-url is given (used to measure the two; SQLite
// stays the development default).
//
// The project builds FerretDB through this wrapper because a plain `go install` of
// FerretDB's own command refuses to start without release metadata; the embedded
// package also keeps telemetry switched off, which a practice requires.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	_ "net/http/pprof" // profiles on --debug-addr only
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI")
	postgresqlURL := flag.String("postgresql-url", "",
		"PostgreSQL URL; when given, FerretDB uses its PostgreSQL backend instead of SQLite")
	debugAddr := flag.String("debug-addr", "",
		"loopback address for Go profiles (/debug/pprof); off when empty")
	flag.Parse()

	if *debugAddr != "" {
		go func() { log.Print(http.ListenAndServe(*debugAddr, nil)) }()
	}

	config := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	}
	backend := "SQLite"
	if *postgresqlURL != "" {
		config.Handler, config.SQLiteURL, config.PostgreSQLURL = "postgresql", "", *postgresqlURL
		backend = "PostgreSQL"
	}

	if config.Handler == "sqlite" {
		setAsideOrphans(sqliteDir(*sqliteURL))
	}

	f, err := ferretdb.New(config)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if config.Handler == "sqlite" {
		go newIDIndexer(sqliteDir(*sqliteURL)).run(ctx)
	}

	log.Printf("FerretDB (%s) listening on %s", backend, *listen)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// sqliteDir is the directory of a SQLite URL such as file:data/?_pragma=...
func sqliteDir(url string) string {
	return strings.SplitN(strings.TrimPrefix(url, "file:"), "?", 2)[0]
}
