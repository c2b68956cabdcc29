/** The fixed Go files of storage: the memory store and the PostgreSQL one (migrations included). */
import { GO_HEADER } from './runtime.js';

/** The memory store (no DATABASE_URL). */
export const memoryStoreGo = `${GO_HEADER}
package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

type memoryRow struct {
	entity  map[string]any
	version int
}

// MemoryStore keeps aggregates and events in this process only: what it holds is gone when the process ends.
type MemoryStore struct {
	mu     sync.Mutex
	rows   map[string]map[string]*memoryRow
	Events []Event
}

func NewMemoryStore() *MemoryStore { return &MemoryStore{rows: map[string]map[string]*memoryRow{}} }

func (s *MemoryStore) Kind() string { return "memory" }

func (s *MemoryStore) Close() error { return nil }

func (s *MemoryStore) Get(_ context.Context, a *Aggregate, id any) (map[string]any, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.rows[a.Name][canonical(id)]
	if row == nil {
		return nil, 0, nil
	}
	return clone(row.entity), row.version, nil
}

// compareIDs orders identifiers the way PostgreSQL orders their columns: numbers by value, texts by text.
func compareIDs(x, y any) int {
	if a, ok := x.(float64); ok {
		if b, ok := y.(float64); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	}
	if a, ok := x.(string); ok {
		if b, ok := y.(string); ok {
			return strings.Compare(a, b)
		}
	}
	return strings.Compare(canonical(x), canonical(y))
}

func (s *MemoryStore) Page(_ context.Context, a *Aggregate, where []Match, limit, offset int) ([]map[string]any, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := []map[string]any{}
	for _, row := range s.rows[a.Name] {
		match := true
		for _, m := range where {
			match = match && canonical(row.entity[m.Property]) == canonical(m.Value)
		}
		if match {
			found = append(found, row.entity)
		}
	}
	sort.Slice(found, func(i, j int) bool { return compareIDs(found[i][a.Identifier], found[j][a.Identifier]) < 0 })
	items := []map[string]any{}
	for i := offset; i < len(found) && i < offset+limit; i++ {
		items = append(items, clone(found[i]))
	}
	return items, len(found), nil
}

func (s *MemoryStore) Create(_ context.Context, a *Aggregate, entity map[string]any, events []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := canonical(entity[a.Identifier])
	if s.rows[a.Name] == nil {
		s.rows[a.Name] = map[string]*memoryRow{}
	}
	if s.rows[a.Name][key] != nil {
		return fmt.Errorf("%s %s exists already", a.Name, key)
	}
	s.rows[a.Name][key] = &memoryRow{clone(entity), 1}
	s.Events = append(s.Events, events...)
	return nil
}

// Change holds the store's lock from the read to the write, so that two changes never interleave.
func (s *MemoryStore) Change(_ context.Context, a *Aggregate, id any, change func(map[string]any, int) (map[string]any, []Event, error)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.rows[a.Name][canonical(id)]
	if row == nil {
		return 0, ErrNotFound
	}
	entity, events, err := change(clone(row.entity), row.version)
	if err != nil {
		return 0, err
	}
	row.entity = clone(entity)
	row.version++
	s.Events = append(s.Events, events...)
	return row.version, nil
}
`;

/** The PostgreSQL store and its migrations (database/sql with lib/pq). */
export const postgresStoreGo = `${GO_HEADER}
package app

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq" // the "postgres" driver (pure Go)
)

// The generator's migrations, built into the binary: migrations/NNN_*.sql, applied in name order.
//
//go:embed migrations
var migrationFiles embed.FS

// One fixed key for every process of this service: pg_advisory_lock on it makes a second process starting at the
// same moment wait until the first has applied the migrations, then find them recorded.
const migrationLockKey = 7402519318

// OpenStore is the memory store without a database URL; with one, PostgreSQL (libpq's PG* variables fill what the
// URL leaves out) with the migrations applied. The description completes the log line "storage: ...".
func OpenStore(ctx context.Context, databaseURL string) (Store, string, error) {
	if databaseURL == "" {
		return NewMemoryStore(), "memory (DATABASE_URL is not set; nothing is kept across restarts)", nil
	}
	db, err := openDB(ctx, databaseURL)
	if err != nil {
		return nil, "", err
	}
	applied, err := Migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, "", err
	}
	var database string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&database); err != nil {
		db.Close()
		return nil, "", err
	}
	now := "none"
	if len(applied) > 0 {
		now = strings.Join(applied, ", ")
	}
	return &PostgresStore{db}, fmt.Sprintf("postgres %s/%s (migrations applied now: %s)", serverAddress(databaseURL), database, now), nil
}

// openDB connects the way libpq does by default: lib/pq requires TLS unless told otherwise where libpq prefers it,
// so without an sslmode (in the settings or PGSSLMODE) a server that has no TLS is reached without.
func openDB(ctx context.Context, databaseURL string) (*sql.DB, error) {
	db, err := sql.Open("postgres", databaseURL)
	if err != nil {
		return nil, err
	}
	err = db.PingContext(ctx)
	if err == nil {
		return pooled(db), nil
	}
	db.Close()
	if !errors.Is(err, pq.ErrSSLNotSupported) || os.Getenv("PGSSLMODE") != "" || setting(databaseURL, "sslmode") != "" {
		return nil, err
	}
	db, err = sql.Open("postgres", withSetting(databaseURL, "sslmode", "disable"))
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return pooled(db), nil
}

// pooled keeps up to 10 connections open and idle (database/sql keeps 2 idle by default: under concurrent
// requests every other one would open a new connection, a new server process each, and close it again).
func pooled(db *sql.DB) *sql.DB {
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db
}

// connectionURL is the settings as a URL, or nil when they are key=value pairs.
func connectionURL(databaseURL string) *url.URL {
	if u, err := url.Parse(databaseURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u
	}
	return nil
}

// setting is one connection setting (sslmode=..., in a URL's query or a key=value pair), or "".
func setting(databaseURL, key string) string {
	if u := connectionURL(databaseURL); u != nil {
		return u.Query().Get(key)
	}
	for _, pair := range strings.Fields(databaseURL) {
		if k, v, ok := strings.Cut(pair, "="); ok && k == key {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// withSetting adds or replaces one connection setting; lib/pq sends those it does not know (search_path) to the server.
func withSetting(databaseURL, key, value string) string {
	if u := connectionURL(databaseURL); u != nil {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		// A URL without a host ("postgres://", the PG* variables say the rest) keeps its slashes.
		return strings.Replace(u.String(), u.Scheme+":?", u.Scheme+"://?", 1)
	}
	return databaseURL + " " + key + "=" + value
}

// serverAddress is host:port as the connection settings say (a URL or key=value pairs, then PGHOST and PGPORT).
func serverAddress(databaseURL string) string {
	var host, port string
	if u := connectionURL(databaseURL); u != nil {
		host, port = u.Hostname(), u.Port()
	} else {
		host, port = setting(databaseURL, "host"), setting(databaseURL, "port")
	}
	if host == "" {
		host = os.Getenv("PGHOST")
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = os.Getenv("PGPORT")
	}
	if port == "" {
		port = "5432"
	}
	return host + ":" + port
}

// Migrate applies the migrations not yet recorded in schema_migrations, in name order, each in its own transaction
// with its record, under an advisory lock. It returns the names it applied.
func Migrate(ctx context.Context, db *sql.DB) ([]string, error) {
	// The advisory lock belongs to a session: one connection takes it, applies, and releases it.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck // closing the session releases it too
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"); err != nil {
		return nil, err
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	applied := []string{}
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		text, err := migrationFiles.ReadFile(path)
		if err != nil {
			return applied, err
		}
		done, err := applyMigration(ctx, conn, name, string(text))
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		if done {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, name, text string) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	var seen int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE name = $1", name).Scan(&seen); err != nil || seen > 0 {
		return false, err
	}
	// No arguments: the simple query protocol, which runs a file of several statements.
	if _, err := tx.ExecContext(ctx, text); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (name) VALUES ($1)", name); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// PostgresStore keeps each aggregate in its table (its _version column counts its saves) and the events of a
// context in its outbox table, written in the same transaction as the row.
type PostgresStore struct {
	db *sql.DB
}

func (s *PostgresStore) Kind() string { return "postgres" }

func (s *PostgresStore) Close() error { return s.db.Close() }

func quote(name string) string { return \`"\` + strings.ReplaceAll(name, \`"\`, \`""\`) + \`"\` }

// columnOf is the column a root property is stored in.
func columnOf(a *Aggregate, property string) Column {
	for _, c := range a.Table.Columns {
		if c.Property == property {
			return c
		}
	}
	return Column{property, property, "json"}
}

// selectList reads every column as text: a date stays its day whatever the session's time zone, a datetime reads
// in UTC, a decimal keeps its digits.
func selectList(a *Aggregate) string {
	parts := []string{}
	for _, c := range a.Table.Columns {
		col := quote(c.Column)
		switch c.Kind {
		case "date":
			parts = append(parts, "to_char("+col+"::timestamp, 'YYYY-MM-DD')")
		case "datetime":
			parts = append(parts, "to_char("+col+" AT TIME ZONE 'UTC', 'YYYY-MM-DD\\"T\\"HH24:MI:SS.MS\\"Z\\"')")
		default:
			parts = append(parts, col+"::text")
		}
	}
	return strings.Join(parts, ", ")
}

// toSQL is a JSON value as a parameter of a column of that kind.
func toSQL(kind string, v any) any {
	if v == nil {
		return nil
	}
	switch kind {
	case "json":
		return canonical(v)
	case "int":
		if f, ok := v.(float64); ok {
			return int64(f)
		}
	case "decimal":
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return v
}

// fromSQL is a column's text (as selectList reads it) as the JSON value the entity holds.
func fromSQL(kind string, text sql.NullString) (any, error) {
	if !text.Valid {
		return nil, nil
	}
	switch kind {
	case "int", "decimal":
		return strconv.ParseFloat(text.String, 64)
	case "bool":
		return text.String == "true", nil
	case "json":
		var v any
		err := json.Unmarshal([]byte(text.String), &v)
		return v, err
	}
	return text.String, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanEntity reads a row of selectList (and then version, when it is not nil).
func scanEntity(a *Aggregate, row scanner, version *int) (map[string]any, error) {
	texts := make([]sql.NullString, len(a.Table.Columns))
	dest := []any{}
	for i := range texts {
		dest = append(dest, &texts[i])
	}
	if version != nil {
		dest = append(dest, version)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	entity := map[string]any{}
	for i, c := range a.Table.Columns {
		v, err := fromSQL(c.Kind, texts[i])
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", a.Table.Name, c.Column, err)
		}
		if v != nil {
			entity[c.Property] = v
		}
	}
	return entity, nil
}

func (s *PostgresStore) Get(ctx context.Context, a *Aggregate, id any) (map[string]any, int, error) {
	idColumn := columnOf(a, a.Identifier)
	query := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = $1", selectList(a), quote("_version"), quote(a.Table.Name), quote(idColumn.Column))
	var version int
	entity, err := scanEntity(a, s.db.QueryRowContext(ctx, query, toSQL(idColumn.Kind, id)), &version)
	if err == sql.ErrNoRows {
		return nil, 0, nil
	}
	return entity, version, err
}

func (s *PostgresStore) Page(ctx context.Context, a *Aggregate, where []Match, limit, offset int) ([]map[string]any, int, error) {
	conditions := []string{"TRUE"}
	args := []any{}
	for _, m := range where {
		c := columnOf(a, m.Property)
		args = append(args, toSQL(c.Kind, m.Value))
		cast := ""
		if c.Kind == "json" {
			cast = "::jsonb"
		}
		conditions = append(conditions, fmt.Sprintf("%s = $%d%s", quote(c.Column), len(args), cast))
	}
	from := fmt.Sprintf("FROM %s WHERE %s", quote(a.Table.Name), strings.Join(conditions, " AND "))
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) "+from, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	query := fmt.Sprintf("SELECT %s %s ORDER BY %s LIMIT %d OFFSET %d", selectList(a), from, quote(columnOf(a, a.Identifier).Column), limit, offset)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	items := []map[string]any{}
	for rows.Next() {
		entity, err := scanEntity(a, rows, nil)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, entity)
	}
	return items, total, rows.Err()
}

func insertEvents(ctx context.Context, tx *sql.Tx, a *Aggregate, events []Event) error {
	for _, e := range events {
		query := fmt.Sprintf("INSERT INTO %s (aggregate, aggregate_id, type, payload) VALUES ($1, $2::jsonb, $3, $4::jsonb)", quote(a.EventsTable))
		if _, err := tx.ExecContext(ctx, query, e.Aggregate, canonical(e.ID), e.Type, canonical(e.Payload)); err != nil {
			return err
		}
	}
	return nil
}

func (s *PostgresStore) Create(ctx context.Context, a *Aggregate, entity map[string]any, events []Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	columns, marks, args := []string{}, []string{}, []any{}
	for _, c := range a.Table.Columns {
		args = append(args, toSQL(c.Kind, entity[c.Property]))
		columns = append(columns, quote(c.Column))
		marks = append(marks, fmt.Sprintf("$%d", len(args)))
	}
	query := fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (%s, 1)", quote(a.Table.Name), strings.Join(columns, ", "), quote("_version"), strings.Join(marks, ", "))
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, a, events); err != nil {
		return err
	}
	return tx.Commit()
}

// Change reads the row FOR UPDATE, so that a concurrent change waits for this one, and writes it back only at the
// version it read.
func (s *PostgresStore) Change(ctx context.Context, a *Aggregate, id any, change func(map[string]any, int) (map[string]any, []Event, error)) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	idColumn := columnOf(a, a.Identifier)
	key := toSQL(idColumn.Kind, id)
	query := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = $1 FOR UPDATE", selectList(a), quote("_version"), quote(a.Table.Name), quote(idColumn.Column))
	var version int
	current, err := scanEntity(a, tx.QueryRowContext(ctx, query, key), &version)
	if err == sql.ErrNoRows {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	entity, events, err := change(current, version)
	if err != nil {
		return 0, err
	}
	sets, args := []string{}, []any{key, version}
	for _, c := range a.Table.Columns {
		if c.Property == a.Identifier {
			continue
		}
		args = append(args, toSQL(c.Kind, entity[c.Property]))
		sets = append(sets, fmt.Sprintf("%s = $%d", quote(c.Column), len(args)))
	}
	sets = append(sets, \`"_version" = "_version" + 1\`)
	update := fmt.Sprintf(\`UPDATE %s SET %s WHERE %s = $1 AND "_version" = $2 RETURNING "_version"\`, quote(a.Table.Name), strings.Join(sets, ", "), quote(idColumn.Column))
	var next int
	if err := tx.QueryRowContext(ctx, update, args...).Scan(&next); err != nil {
		return 0, err
	}
	if err := insertEvents(ctx, tx, a, events); err != nil {
		return 0, err
	}
	return next, tx.Commit()
}
`;
