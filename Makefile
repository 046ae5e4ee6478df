# souk — `make` builds build/souk; `make test` runs every test (unit, API,
# browser) and then the unit + API suites again under ASan+UBSan.
CC      ?= cc
PKGS    := libh2o-evloop jansson libsodium sqlite3 icu-uc icu-i18n zlib libxxhash
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -pthread -Isrc -DH2O_USE_EPOLL=1 \
           -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS)) -lstemmer -lssl -lcrypto -lm -pthread
BUILD   ?= build

SRC     := $(sort $(wildcard src/*/*.c))
OBJ     := $(SRC:%.c=$(BUILD)/%.o)
UNIT    := $(sort $(wildcard tests/unit/test_*.c))
UNITBIN := $(UNIT:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/souk

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsouk.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/souk: $(BUILD)/src/main.o $(BUILD)/libsouk.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsouk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsouk.a $(LDLIBS) -lcmocka

unit: $(UNITBIN)
	@set -e; for t in $(UNITBIN); do echo "== $$t"; $$t; done

web:
	@scripts/build-web

api: $(BUILD)/souk
	SOUK_BIN=$(abspath $(BUILD)/souk) node --test --test-concurrency=2 tests/api/

e2e: $(BUILD)/souk web
	SOUK_BIN=$(abspath $(BUILD)/souk) node --test --test-concurrency=1 tests/e2e/

# The sanitizer pass rebuilds everything in its own directory.
asan:
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit api

test: all unit api e2e asan

format:
	clang-format -i $(SRC) src/main.c $(wildcard src/*/*.h) $(UNIT)

clean:
	rm -rf build

.PHONY: all unit api e2e asan test format clean web
-include $(OBJ:.o=.d) $(BUILD)/src/main.d
