-- conf/sql/schema.sql: the table of ftpd's users in PostgreSQL (passwd_db),
-- and the one query ftpd runs against it.
--
--   createdb ftp && psql -d ftp -f schema.sql
--   passwd_db = postgresql://ftpd@db.example.org/ftp
--
-- ftpd only reads. Give its role SELECT on this table (or on a view of the
-- same name and columns over tables of your own) and nothing else. Only the
-- monitor connects. Keep the role's password out of the URI (ftpd -t prints
-- the URI): libpq reads it from ~/.pgpass of the user ftpd starts as (root),
-- or from the file that ?passfile=/etc/ftpd/pgpass names.
--
-- The query, sent with the login name as its only parameter (never pasted
-- into the text), at each login, on one of at most 4 connections:
--
--   SELECT password_hash, home, read_only, settings->>'shell',
--          settings->>'quota_bytes', settings->>'quota_files',
--          settings->>'max_rate_down', settings->>'max_rate_up'
--   FROM ftp_users AS u, to_jsonb(u) AS settings WHERE name = $1
--
-- name, password_hash, home and read_only must be there. The per-user
-- settings below them are optional columns: ftpd reads them through the
-- row as JSON, so a table or view without some of them works, and a NULL or
-- absent one means the server's own key of the same name. A value ftpd
-- cannot read (a negative size, an unknown unit, a shell name with a '/')
-- refuses the user's logins, with a warning in the log, rather than lift
-- a limit.
--
-- Changes apply at the next login: there is nothing to reload.

CREATE TABLE IF NOT EXISTS ftp_users (
    -- The login name, matched exactly (case counts). At most 64 bytes, with
    -- no control characters, ':' or '/': ftpd looks no other name up.
    -- "anonymous" and "ftp" are always guests and never looked up.
    name text PRIMARY KEY
        CHECK (octet_length(name) BETWEEN 1 AND 64 AND name !~ '[[:cntrl:]:/]'),

    -- crypt(3) form: $y$ (yescrypt), $6$ (SHA-512, `openssl passwd -6`),
    -- $2b$ (bcrypt)... A hash starting with ! or * locks the user out.
    password_hash text NOT NULL,

    -- The directory the user sees as /, an absolute path. NULL: home_root/name.
    home text CHECK (home IS NULL OR home LIKE '/%'),

    -- true: every change (STOR, DELE, MKD, RNFR...) is refused with 550, as
    -- for guests; the user may list and download.
    read_only boolean NOT NULL DEFAULT false,

    -- Optional per-user settings; NULL: the server's key of the same name.
    --
    -- The user's shell: "fs" (files of home, read-write), "anon" (the same,
    -- read-only), or the module name of the server's shell or anonymous_shell
    -- key (with that key's option lines). ftpd never loads a module because
    -- the database names it; any other name refuses the user's logins.
    shell text CHECK (shell ~ '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}$'),

    -- Limits as ftpd.conf(5) has them for everyone: bytes the home may hold,
    -- files and directories it may hold, and bytes per second each way. 0
    -- lifts the server's limit for this user. A text column may hold the
    -- config's forms ('10G', '512K'); a bigint holds bytes.
    quota_bytes bigint CHECK (quota_bytes >= 0),
    quota_files bigint CHECK (quota_files >= 0),
    max_rate_down bigint CHECK (max_rate_down >= 0),
    max_rate_up bigint CHECK (max_rate_up >= 0)
);

-- For example (the role and the hash are yours to choose):
--   CREATE ROLE ftpd LOGIN PASSWORD '...';
--   GRANT SELECT ON ftp_users TO ftpd;
--   INSERT INTO ftp_users (name, password_hash) VALUES ('alice', '$6$...');
--   INSERT INTO ftp_users (name, password_hash, home, read_only)
--       VALUES ('reports', '$6$...', '/srv/ftp/reports', true);
--   UPDATE ftp_users SET quota_bytes = 10 * 1024^3, max_rate_down = 1048576
--       WHERE name = 'alice';
