# Compiler and linker flags shared by every component.
# B is the build directory; SANITIZE=1 selects the ASan+UBSan variant the unit tests run under.
B        ?= build
CC       ?= cc
OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
CFLAGS   := -std=gnu11 $(OPT) -g $(WARN) $(HARDEN) -D_GNU_SOURCE -I. $(EXTRA_CFLAGS)
LDFLAGS  := -Wl,-z,relro,-z,now -Wl,--as-needed $(EXTRA_LDFLAGS)
ifeq ($(SANITIZE),1)
# FORTIFY and ASan both interpose libc; keep ASan's view.
HARDEN   := -fstack-protector-strong -fPIC
CFLAGS   := -std=gnu11 -O1 -g -fno-omit-frame-pointer $(WARN) $(HARDEN) -D_GNU_SOURCE -I. \
            -fsanitize=address,undefined -fno-sanitize-recover=all $(EXTRA_CFLAGS)
LDFLAGS  += -fsanitize=address,undefined
endif

PKG_CONFIG ?= pkg-config
YAML_CFLAGS   := $(shell $(PKG_CONFIG) --cflags yaml-0.1 2>/dev/null)
YAML_LIBS     := $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null || echo -lyaml)
CRYPTO_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcrypto 2>/dev/null)
CRYPTO_LIBS   := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
MUNGE_CFLAGS  := $(shell $(PKG_CONFIG) --cflags munge 2>/dev/null)
MUNGE_LIBS    := $(shell $(PKG_CONFIG) --libs munge 2>/dev/null || echo -lmunge)
# Debian's libslurm-dev ships no .pc file; the headers are <slurm/...> under the default path.
SLURM_CFLAGS  := $(shell $(PKG_CONFIG) --cflags slurm 2>/dev/null)
SLURM_LIBS    := $(shell $(PKG_CONFIG) --libs slurm 2>/dev/null || echo -lslurm)
