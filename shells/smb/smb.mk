# shells/smb/smb.mk: the FTP-to-SMB gateway, built as its own shared object
# build/$(VARIANT)/shells/smb.so and never linked into ftpd: it links
# libsmbclient (GPLv3+), see shells/smb/README. The top-level Makefile
# includes this file right after it defines LIB_SOURCES and LIB_OBJECTS
# (before any rule uses them). Without libsmbclient's pkg-config file
# (Debian: libsmbclient-dev) nothing is built and the gateway's tests skip.

# shells/smb/*.c (and its test driver) stay out of ftpd and libftpd.a.
LIB_SOURCES := $(filter-out shells/smb/%,$(LIB_SOURCES))
LIB_OBJECTS := $(LIB_SOURCES:%.c=$(BUILD)/%.o)

SMB_SOURCES := $(sort $(wildcard shells/smb/*.c))
SMB_OBJECTS := $(SMB_SOURCES:%.c=$(BUILD)/%.o)
SMB_MODULE  := $(BUILD)/shells/smb.so
HAVE_SMBCLIENT := $(shell pkg-config --exists smbclient 2>/dev/null && echo yes)

.PHONY: smb install-smb uninstall-smb

ifeq ($(HAVE_SMBCLIENT),yes)
SMB_CFLAGS := $(shell pkg-config --cflags smbclient)
SMB_LIBS   := $(shell pkg-config --libs smbclient)

all: $(SMB_MODULE)
integration: $(SMB_MODULE)
install: install-smb
uninstall: uninstall-smb
smb: $(SMB_MODULE)

# Only ftpd_shell_module is exported: nothing of libsmbclient's leaks into ftpd.
$(BUILD)/shells/smb/%.o: shells/smb/%.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden $(SMB_CFLAGS) -MMD -MP -c -o $@ $<

$(SMB_MODULE): $(SMB_OBJECTS)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ $(SMB_LIBS) -lpthread

install-smb: $(SMB_MODULE)
	$(INSTALL) -d $(DESTDIR)$(shelldir) $(DESTDIR)$(mandir)/man8
	$(INSTALL) -m 644 $(SMB_MODULE) $(DESTDIR)$(shelldir)/smb.so
	$(INSTALL_PATHS) man/ftpd-smb.8 > $(DESTDIR)$(mandir)/man8/ftpd-smb.8

uninstall-smb:
	rm -f $(DESTDIR)$(shelldir)/smb.so $(DESTDIR)$(mandir)/man8/ftpd-smb.8

-include $(SMB_OBJECTS:.o=.d)
else
smb install-smb uninstall-smb:
	@echo "smb.so not built: libsmbclient's pkg-config file (libsmbclient-dev) is missing"
endif
