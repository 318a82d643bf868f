"""test_listing: LIST, NLST, MLSD and MLST output, OPTS MLST, FEAT, and the
metadata commands beside them (MFMT, SITE CHMOD, SITE HELP)."""

import calendar
import os
import re
import stat
import time

from harness import (anonymous_server, check, check_equal, expect_preliminary, listing_lines,
                     open_passive, snapshot, user_server, write_file)

LIST_LINE = re.compile(r"^(?P<mode>[-dlcbps][-rwxsStT]{9}) +(?P<links>\d+) +(?P<owner>\S+) +"
                       r"(?P<group>\S+) +(?P<size>\d+) +(?P<month>[A-Z][a-z]{2}) +"
                       r"(?P<day>\d{1,2}) +(?P<time>\d{2}:\d{2}|\d{4}) (?P<name>.+)$")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def listing_server():
    """An anonymous share with known modes and times, a dot file, an old file."""
    server, root = anonymous_server()
    write_file(os.path.join(root, ".hidden"), b"secret-ish")
    os.chmod(os.path.join(root, "README.txt"), 0o644)
    os.chmod(os.path.join(root, "pub"), 0o755)
    old = write_file(os.path.join(root, "old.txt"), b"12345")
    os.chmod(old, 0o640)
    when = calendar.timegm((2019, 7, 4, 13, 5, 9, 0, 0, 0))
    os.utime(old, (when, when))
    write_file(os.path.join(root, "notes.txt"), b"n")
    return server, root


def parse_list(lines):
    entries = {}
    for line in lines:
        match = LIST_LINE.match(line)
        check(match is not None, "not an ls -l line: %r" % line)
        entries[match.group("name")] = match.groupdict()
    return entries


def check_list_entry(entry, path):
    info = os.lstat(path)
    check_equal(entry["mode"], stat.filemode(info.st_mode), "mode of %s" % path)
    check_equal(int(entry["size"]), info.st_size, "size of %s" % path)
    check_equal(int(entry["links"]), info.st_nlink, "link count of %s" % path)
    local = time.localtime(info.st_mtime)
    check_equal(entry["month"], MONTHS[local.tm_mon - 1], "month of %s" % path)
    check_equal(int(entry["day"]), local.tm_mday, "day of %s" % path)


def test_list_lines_are_ls_long_format():
    server, root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        entries = parse_list(listing_lines(control, "LIST"))
        check_equal(sorted(entries), sorted(["README.txt", "notes.txt", "old.txt", "pub"]),
                    "names in LIST")
        for name, entry in entries.items():
            check_list_entry(entry, os.path.join(root, name))
        check_equal(entries["README.txt"]["mode"], "-rw-r--r--", "README.txt mode")
        check_equal(entries["pub"]["mode"], "drwxr-xr-x", "pub mode")
        check_equal(entries["old.txt"]["mode"], "-rw-r-----", "old.txt mode")
        local = time.localtime(os.path.getmtime(os.path.join(root, "README.txt")))
        check_equal(entries["README.txt"]["time"], time.strftime("%H:%M", local),
                    "time of a recent file")
        check_equal(entries["old.txt"]["time"], "2019", "year of a file older than 6 months")


def test_list_options():
    server, root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        plain = set(parse_list(listing_lines(control, "LIST")))
        check_equal(set(parse_list(listing_lines(control, "LIST -l"))), plain, "LIST -l names")
        for line in ("LIST -a", "LIST -la", "LIST -al"):
            names = set(parse_list(listing_lines(control, line))) - {".", ".."}
            check_equal(names, plain | {".hidden"}, "%s names" % line)
        control.expect("TYPE I", 200)
        check_equal(set(parse_list(listing_lines(control, "LIST"))), plain, "LIST in TYPE I")
        pub = set(parse_list(listing_lines(control, "LIST -la pub"))) - {".", ".."}
        check_equal(pub, {"hello.txt", "data.bin", "empty"}, "LIST -la pub names")


def test_list_of_a_file_and_of_a_subdirectory():
    server, root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        entries = parse_list(listing_lines(control, "LIST pub/hello.txt"))
        check_equal(len(entries), 1, "entries for LIST of a file")
        entry = list(entries.values())[0]
        check(entry["name"] in ("hello.txt", "pub/hello.txt", "/pub/hello.txt"),
              "name in LIST of a file: %r" % entry["name"])
        check_equal(int(entry["size"]), 13, "size in LIST of a file")
        entries = parse_list(listing_lines(control, "LIST /pub"))
        check_equal(sorted(entries), ["data.bin", "empty", "hello.txt"], "LIST /pub")
        check_list_entry(entries["data.bin"], os.path.join(root, "pub", "data.bin"))
        control.expect("CWD pub", 250)
        check_equal(sorted(parse_list(listing_lines(control, "LIST"))),
                    ["data.bin", "empty", "hello.txt"], "LIST in the working directory")
        check_equal(listing_lines(control, "LIST empty"), [], "LIST of an empty directory")


def test_list_missing_path_550():
    server, _root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("LIST missing", "LIST -la missing", "MLSD missing", "NLST missing"):
            data = open_passive(control)
            control.expect(line, 550)
            data.close()
        control.expect("MLST missing", 550)
        check(len(listing_lines(control, "LIST")) == 4, "LIST after the 550s")


def test_list_size_beyond_4_gigabytes():
    server, root = anonymous_server()
    with open(os.path.join(root, "huge.bin"), "wb") as f:
        f.truncate(5 << 30)
    with server, server.connect() as control:
        control.login_anonymous()
        entries = parse_list(listing_lines(control, "LIST huge.bin"))
        check_equal(int(list(entries.values())[0]["size"]), 5 << 30, "LIST size of 5 GiB")
        facts = listing_lines(control, "MLSD")
        check(any("size=%d;" % (5 << 30) in line and line.endswith(" huge.bin")
                  for line in facts), "MLSD size of 5 GiB: %r" % facts)


def test_nlst_names_only():
    server, _root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(sorted(listing_lines(control, "NLST")),
                    ["README.txt", "notes.txt", "old.txt", "pub"], "NLST")
        names = sorted(listing_lines(control, "NLST pub"))
        check(names in (["data.bin", "empty", "hello.txt"],
                        ["pub/data.bin", "pub/empty", "pub/hello.txt"]), "NLST pub: %r" % names)
        check_equal(sorted(listing_lines(control, "NLST *.txt")),
                    ["README.txt", "notes.txt", "old.txt"], "NLST *.txt")
        names = set(listing_lines(control, "NLST -a")) - {".", ".."}
        check_equal(names, {".hidden", "README.txt", "notes.txt", "old.txt", "pub"}, "NLST -a")


def test_nlst_glob_in_subdirectory():
    server, _root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("CWD pub", 250)
        check_equal(sorted(listing_lines(control, "NLST *.bin")), ["data.bin"], "NLST *.bin")
        check_equal(sorted(listing_lines(control, "NLST h?llo.*")), ["hello.txt"],
                    "NLST h?llo.*")


def parse_facts(line):
    """'a=1;b=2; name' -> ({'a': '1', 'b': '2'}, 'name')."""
    facts_text, separator, name = line.partition(" ")
    check(separator == " " and facts_text.endswith(";"), "malformed fact line %r" % line)
    facts = {}
    for fact in facts_text[:-1].split(";"):
        key, equals, value = fact.partition("=")
        check(equals == "=", "malformed fact %r in %r" % (fact, line))
        facts[key.lower()] = value
    return facts, name


def check_facts(facts, path, what):
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode):
        check(facts.get("type") in ("dir", "cdir", "pdir"), "%s type: %r" % (what, facts))
    else:
        check_equal(facts.get("type"), "file", "%s type" % what)
        check_equal(facts.get("size"), str(info.st_size), "%s size" % what)
    check_equal(facts.get("modify"), time.strftime("%Y%m%d%H%M%S", time.gmtime(info.st_mtime)),
                "%s modify" % what)
    check_equal(facts.get("unix.mode"), "0%o" % stat.S_IMODE(info.st_mode), "%s unix.mode" % what)
    check("perm" in facts, "%s has no perm fact: %r" % (what, facts))
    check(facts.get("unique"), "%s has no unique fact: %r" % (what, facts))


def test_mlsd_facts():
    server, root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        lines = listing_lines(control, "MLSD")
        seen = {}
        for line in lines:
            facts, name = parse_facts(line)
            if facts.get("type") in ("cdir", "pdir"):
                continue
            seen[name] = facts
            check_facts(facts, os.path.join(root, name), "MLSD %s" % name)
        check_equal(sorted(seen), sorted([".hidden", "README.txt", "notes.txt", "old.txt", "pub"]),
                    "MLSD names")
        check_equal(seen["old.txt"]["modify"], "20190704130509", "MLSD modify of old.txt")
        check_equal(seen["old.txt"]["unix.mode"], "0640", "MLSD unix.mode of old.txt")
        check_equal(seen["pub"]["type"], "dir", "MLSD type of pub")
        uniques = [facts["unique"] for facts in seen.values()]
        check_equal(len(set(uniques)), len(uniques), "distinct unique facts")
        check("w" not in seen["README.txt"]["perm"] and "r" in seen["README.txt"]["perm"],
              "anonymous perm of a file: %r" % seen["README.txt"]["perm"])
        for line in listing_lines(control, "MLSD pub"):
            facts, name = parse_facts(line)
            if facts.get("type") not in ("cdir", "pdir"):
                check_facts(facts, os.path.join(root, "pub", name), "MLSD pub/%s" % name)


def test_mlsd_on_a_file_501():
    server, _root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        data = open_passive(control)
        control.expect("MLSD README.txt", 501)
        data.close()
        control.expect("NOOP", 200)


def test_mlst_over_the_control_connection():
    server, root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        reply = control.expect("MLST old.txt", 250)
        check(len(reply.lines) == 3 and reply.lines[0].startswith("250-"),
              "MLST is not a 3-line reply: %r" % reply)
        check(reply.lines[1].startswith(" "), "MLST fact line without a space: %r" % reply)
        facts, name = parse_facts(reply.lines[1][1:])
        check_equal(name, "/old.txt", "MLST path")
        check_facts(facts, os.path.join(root, "old.txt"), "MLST old.txt")
        reply = control.expect("MLST pub", 250)
        facts, name = parse_facts(reply.lines[1][1:])
        check_equal(facts.get("type"), "dir", "MLST pub type")
        check_equal(name, "/pub", "MLST pub path")


def test_opts_mlst_selects_facts():
    server, _root = listing_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("OPTS MLST type;size;", 200)
        for line in listing_lines(control, "MLSD"):
            facts, name = parse_facts(line)
            allowed = {"type", "size"}
            check(set(facts) <= allowed and "type" in facts,
                  "MLSD facts after OPTS MLST type;size;: %r" % line)
            if facts["type"] == "file":
                check("size" in facts, "no size after OPTS MLST type;size;: %r" % line)
        reply = control.expect("MLST README.txt", 250)
        check_equal(reply.lines[1], " type=file;size=8; /README.txt", "MLST after OPTS")
        control.expect("OPTS MLST modify;", 200)
        reply = control.expect("MLST old.txt", 250)
        check_equal(reply.lines[1], " modify=20190704130509; /old.txt", "MLST with modify only")


def test_feat_lists_data_features():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        reply = control.expect("FEAT", 211)
        features = [line[1:] for line in reply.lines[1:-1]]
        for name in ("EPRT", "EPSV", "PASV", "REST STREAM", "MDTM", "SIZE", "MFMT", "TVFS",
                     "UTF8"):
            check(name in features, "FEAT lacks %r: %r" % (name, features))
        mlst = [feature for feature in features if feature.startswith("MLST ")]
        check_equal(len(mlst), 1, "MLST lines in FEAT")
        for fact in ("type*", "size*", "modify*", "perm*", "unique*", "unix.mode*"):
            check(fact + ";" in mlst[0], "FEAT MLST lacks %s: %r" % (fact, mlst[0]))


def test_mfmt_sets_mtime():
    server, home_root = user_server()
    path = write_file(os.path.join(home_root, "alice", "file.txt"), b"x")
    with server, server.connect() as control:
        control.login("alice", "secret")
        reply = control.expect("MFMT 20200102030405 file.txt", 213)
        check_equal(reply.lines, ["213 Modify=20200102030405; /file.txt"], "MFMT reply")
        check_equal(int(os.stat(path).st_mtime),
                    calendar.timegm((2020, 1, 2, 3, 4, 5, 0, 0, 0)), "mtime after MFMT")
        check_equal(control.expect("MDTM file.txt", 213).lines, ["213 20200102030405"],
                    "MDTM after MFMT")
        control.expect("MFMT 20200102030405 missing.txt", 550)
        for line in ("MFMT 2020010203040 file.txt", "MFMT 20201302030405 file.txt",
                     "MFMT notatime file.txt", "MFMT 20200102030405"):
            control.expect(line, 501)


def test_anonymous_mfmt_and_chmod_550():
    server, root = listing_server()
    before = snapshot(root)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("MFMT 20200102030405 README.txt", 550)
        control.expect("SITE CHMOD 777 README.txt", 550)
        control.expect("SITE CHMOD 777 pub", 550)
    check_equal(snapshot(root), before, "anonymous root after MFMT and SITE CHMOD")


def test_site_chmod_help_unknown():
    server, home_root = user_server()
    path = write_file(os.path.join(home_root, "alice", "file.txt"), b"x")
    os.chmod(path, 0o644)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("SITE CHMOD 600 file.txt", 200)
        check_equal(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode after SITE CHMOD 600")
        control.expect("site chmod 0640 /file.txt", 200)
        check_equal(stat.S_IMODE(os.stat(path).st_mode), 0o640, "mode after SITE CHMOD 0640")
        control.expect("SITE CHMOD 600 missing.txt", 550)
        for line in ("SITE CHMOD 9z9 file.txt", "SITE CHMOD 600"):
            control.expect(line, 501)
        check_equal(stat.S_IMODE(os.stat(path).st_mode), 0o640, "mode after bad SITE CHMODs")
        reply = control.expect("SITE HELP", 214)
        check(any("CHMOD" in line for line in reply.lines), "SITE HELP lacks CHMOD: %r" % reply)
        control.expect("SITE FOO", 500)


def big_directory(root, count):
    """count files of sizes 0-96 (number % 97) and a symlink, so that a listing
    that put one entry's stat under another's name shows."""
    big = os.path.join(root, "many")
    os.makedirs(big)
    names = ["file-%05d-%s.txt" % (number, "n" * (number % 40)) for number in range(count)]
    for number, name in enumerate(names):
        with open(os.path.join(big, name), "wb") as f:
            f.write(b"x" * (number % 97))
    os.symlink(names[-1], os.path.join(big, "link-to-last"))
    return big, names


def test_large_directory_listings_are_complete():
    """Past its first entries a listing stats in batches on threads: every
    entry keeps its own name, size and type, in all three listings."""
    server, root = anonymous_server()
    big, names = big_directory(root, 2000)
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(sorted(listing_lines(control, "NLST many")), names + ["link-to-last"],
                    "NLST of 2000 files")
        entries = parse_list(listing_lines(control, "LIST many"))
        check_equal(sorted(entries), names + ["link-to-last -> " + names[-1]],
                    "LIST of 2000 files")
        for number, name in enumerate(names):
            check_equal(int(entries[name]["size"]), number % 97, "LIST size of %s" % name)
            check_equal(entries[name]["mode"][0], "-", "LIST type of %s" % name)
        check_equal(entries["link-to-last -> " + names[-1]]["mode"][0], "l", "LIST type of the link")
        mlsd = dict(parse_facts(line)[::-1] for line in listing_lines(control, "MLSD many", "active"))
        check_equal(sorted(mlsd), names + ["link-to-last"], "MLSD of 2000 files")
        for number, name in enumerate(names):
            check_equal(int(mlsd[name]["size"]), number % 97, "MLSD size of %s" % name)


def test_many_symlinks_keep_their_own_targets():
    """Symlinks' targets are read with the stats, on the threads, as far as a
    batch has room (16 KiB): 1500 links, some with targets of 3000 bytes so
    that batches run out of room and the rest are read on the loop; every
    link shows its own target, and a dangling one is listed too."""
    server, root = anonymous_server()
    links = os.path.join(root, "links")
    os.makedirs(links)
    expected = {}
    for number in range(1500):
        if number % 50 == 7:
            target = "long-" + "%04d/" % number * 600
        else:
            target = "target-%05d" % number
        name = "link-%05d" % number
        os.symlink(target, os.path.join(links, name))
        expected[name] = target
    with server, server.connect() as control:
        control.login_anonymous()
        entries = parse_list(listing_lines(control, "LIST links"))
        shown = {}
        for key in entries:
            name, _, target = key.partition(" -> ")
            check_equal(entries[key]["mode"][0], "l", "LIST type of %s" % name)
            shown[name] = target
        check_equal(len(shown), len(expected), "links in the listing")
        for name, target in expected.items():
            check_equal(shown.get(name), target, "target of %s" % name)


def test_big_listing_left_halfway():
    """A client that stops reading a big listing and closes the data connection,
    or sends ABOR, while batches are being statted: the session goes on, and
    the next listing is whole."""
    server, root = anonymous_server()
    _big, names = big_directory(root, 5000)
    with server, server.connect() as control:
        control.login_anonymous()
        for ending in ("close", "ABOR"):
            data = open_passive(control, receive_buffer=4096)
            expect_preliminary(control, "LIST many")
            check(len(data.recv(1024)) > 0, "no listing data before %s" % ending)
            if ending == "close":
                data.close()
                code = control.read_reply().code
                check(code in (226, 426), "reply to a listing cut off by the client: %d" % code)
            else:
                control.send("ABOR\r\n")
                codes = [control.read_reply().code]
                if codes[0] == 426:
                    codes.append(control.read_reply().code)
                check(codes in ([426, 226], [226]), "replies to ABOR during LIST: %r" % codes)
                data.close()
        check_equal(len(listing_lines(control, "NLST many")), len(names) + 1,
                    "NLST after two cut-off listings")
