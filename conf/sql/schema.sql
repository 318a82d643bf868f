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
--   SELECT password_hash, home, read_only FROM ftp_users WHERE name = $1
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
    read_only boolean NOT NULL DEFAULT false
);

-- For example (the role and the hash are yours to choose):
--   CREATE ROLE ftpd LOGIN PASSWORD '...';
--   GRANT SELECT ON ftp_users TO ftpd;
--   INSERT INTO ftp_users (name, password_hash) VALUES ('alice', '$6$...');
--   INSERT INTO ftp_users VALUES ('reports', '$6$...', '/srv/ftp/reports', true);
