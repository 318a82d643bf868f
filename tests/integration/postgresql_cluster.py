"""postgresql_cluster: a throwaway PostgreSQL cluster for the passwd_db tests
(test_postgresql, and the users behind HAProxy in test_haproxy), made with
initdb and pg_ctl on a free loopback port and stopped at the end of the test."""

import glob
import os
import pwd
import subprocess

from harness import (at_finish, free_port, password_hash, shared_temp_dir, skip, temp_dir,
                     write_file)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "conf", "sql", "schema.sql")


def postgresql_bin():
    """Debian's directory of the server programs: 15's (Debian 12), else the newest."""
    def major(directory):
        name = os.path.basename(os.path.dirname(directory))
        return int(name) if name.isdigit() else 0

    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    for directory in ["/usr/lib/postgresql/15/bin"] + installed:
        if os.path.exists(os.path.join(directory, "pg_ctl")):
            return directory
    return None


POSTGRESQL_BIN = postgresql_bin()
# The role ftpd connects as; its password travels in a passfile, as the schema advises.
ROLE = "ftpd"
ROLE_PASSWORD = "role-secret"
# ftpd's connections are named so in pg_stat_activity (fallback_application_name).
APPLICATION_NAME = "ftpd"
# The pool's bound (POSTGRESQL_CONNECTIONS_MAX in src/portal/checkers/postgresql.h).
CONNECTIONS_MAX = 4


def sql_text(value):
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


class Cluster:
    """A PostgreSQL cluster of its own on a free loopback port, run as the
    postgres system user when the test runs as root (initdb refuses root);
    stopped at the end of the test."""

    def __init__(self):
        if POSTGRESQL_BIN is None:
            skip("the PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/pg_ctl; "
                 "apt-get install postgresql)")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                skip("PostgreSQL is installed but there is no postgres user")
        self.base = shared_temp_dir("ftpd-postgresql-")
        self.data = os.path.join(self.base, "data")
        self.sockets = os.path.join(self.base, "run")
        self.log = os.path.join(self.base, "postgresql.log")
        os.mkdir(self.sockets)
        if self.as_postgres:
            os.chown(self.base, self.owner.pw_uid, self.owner.pw_gid)
            os.chown(self.sockets, self.owner.pw_uid, self.owner.pw_gid)
        self.port = free_port()
        self.running = False
        at_finish(self.discard)
        self.run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
                 "--no-instructions")
        # The admin (psql here) over the socket; ftpd's role over TCP with a password.
        write_file(os.path.join(self.data, "pg_hba.conf"),
                   "local all postgres trust\n"
                   "host ftp %s 127.0.0.1/32 scram-sha-256\n" % ROLE)
        self.start()
        self.psql("postgres", "CREATE ROLE %s LOGIN PASSWORD %s;\nCREATE DATABASE ftp;\n"
                  % (ROLE, sql_text(ROLE_PASSWORD)))
        with open(SCHEMA) as f:
            self.psql("ftp", f.read())
        self.psql("ftp", "GRANT SELECT ON ftp_users TO %s;\n" % ROLE)

    def command(self, program, *arguments):
        argv = [os.path.join(POSTGRESQL_BIN, program)] + list(arguments)
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def run(self, program, *arguments, input_text=None, timeout=60):
        result = subprocess.run(self.command(program, *arguments), input=input_text,
                                capture_output=True, text=True, cwd=self.base, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (program, result.returncode,
                                                           result.stdout, result.stderr))
        return result.stdout

    def psql(self, database, sql):
        return self.run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-h", self.sockets, "-p", str(self.port), "-U", "postgres",
                        "-d", database, input_text=sql)

    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (
                     self.port, self.sockets), "start")
        self.running = True

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        self.running = False

    def discard(self):
        if self.running:
            subprocess.run(self.command("pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                                        "stop"), capture_output=True, cwd=self.base,
                           timeout=60)
            self.running = False

    def add_user(self, name, password, home=None, read_only=False, locked=False, table="ftp_users",
                 **settings):
        """A row of table; settings fill optional columns (shell, quota_bytes...)."""
        hashed = password_hash(password)
        if locked:
            hashed = "!" + hashed
        columns = ["name", "password_hash", "home", "read_only"] + sorted(settings)
        values = [sql_text(name), sql_text(hashed), sql_text(home),
                  "true" if read_only else "false"]
        values += [str(settings[key]) if isinstance(settings[key], int)
                   else sql_text(settings[key]) for key in sorted(settings)]
        self.psql("ftp", "INSERT INTO %s (%s) VALUES (%s);\n"
                  % (table, ", ".join(columns), ", ".join(values)))

    def ftpd_connections(self):
        """How many connections ftpd holds to the cluster now."""
        return int(self.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE "
                             "application_name = %s;\n" % sql_text(APPLICATION_NAME)))

    def uri(self):
        """passwd_db for ftpd, the role's password in a passfile only root can read."""
        passfile = os.path.join(temp_dir("ftpd-pgpass-"), "pgpass")
        write_file(passfile, "127.0.0.1:%d:ftp:%s:%s\n" % (self.port, ROLE, ROLE_PASSWORD))
        os.chmod(passfile, 0o600)
        return "postgresql://%s@127.0.0.1:%d/ftp?passfile=%s" % (ROLE, self.port, passfile)
