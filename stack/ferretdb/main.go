// Command moovitamix-ferretdb serves the MongoDB wire protocol on top of SQLite
// (or PostgreSQL) through FerretDB's embeddable package.
//
// It exists because the published `ferretdb` binary built with `go install`
// panics at start (its version file is generated at release time), while the
// embeddable package does not need it. Development and CI machines without
// Docker or mongod use it as their MongoDB-compatible server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "", "directory holding one SQLite file per database (created if missing)")
	postgresURL := flag.String("postgresql-url", "", "use this PostgreSQL server instead of SQLite")
	syncMode := flag.String("sqlite-synchronous", "normal", "SQLite synchronous pragma: normal (WAL-safe after a crash of the process; the last commits may be lost on power loss) or full (fsync every commit)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	debugAddr := flag.String("debug-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); off when empty")
	flag.Parse()

	if *debugAddr != "" {
		go func() { _ = http.ListenAndServe(*debugAddr, nil) }()
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("bad -log-level: %v", err)
	}
	logger := slog.New(lazyAttrs{inner: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})

	config := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
	}
	switch {
	case *postgresURL != "":
		config.Handler = "postgresql"
		config.PostgreSQLURL = *postgresURL
	case *sqliteDir != "":
		dir, err := filepath.Abs(*sqliteDir)
		if err != nil {
			fail("bad -sqlite-dir: %v", err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			fail("cannot create %s: %v", dir, err)
		}
		config.Handler = "sqlite"
		// FerretDB wants a file: URI naming a directory, with a trailing slash. It
		// already sets WAL mode; with WAL, synchronous=normal fsyncs at checkpoints
		// instead of at every commit, which makes writes several times faster.
		if *syncMode != "normal" && *syncMode != "full" && *syncMode != "off" {
			fail("bad -sqlite-synchronous %q: want normal or full", *syncMode)
		}
		config.SQLiteURL = "file:" + strings.TrimSuffix(dir, "/") + "/?_pragma=synchronous(" + *syncMode + ")"
	default:
		fail("one of -sqlite-dir or -postgresql-url is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	server, err := ferretdb.New(&config)
	if err != nil {
		fail("%v", err)
	}
	logger.Warn("moovitamix-ferretdb listening", "addr", *listen, "handler", config.Handler)
	if err := server.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "moovitamix-ferretdb: "+format+"\n", args...)
	os.Exit(2)
}

// lazyAttrs gives its handler the attributes a logger is built with only when a record is
// written. FerretDB builds a logger with every SQL statement's arguments (whole documents
// as JSON) before each of its two debug lines per statement, and slog's text handler
// quotes them at once, whether the line is written or not: at the warn level that was
// 39 % of the store's CPU while inserting (docs/development.md, "Measured").
type lazyAttrs struct {
	inner slog.Handler
	steps []func(slog.Handler) slog.Handler
}

func (h lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	out := h.inner
	for _, step := range h.steps {
		out = step(out)
	}
	return out.Handle(ctx, r)
}

func (h lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return lazyAttrs{inner: h.inner, steps: append(slices.Clip(h.steps), func(x slog.Handler) slog.Handler { return x.WithAttrs(attrs) })}
}

func (h lazyAttrs) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return lazyAttrs{inner: h.inner, steps: append(slices.Clip(h.steps), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}
