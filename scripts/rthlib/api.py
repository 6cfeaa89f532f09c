# SPDX-License-Identifier: GPL-2.0
"""The names `import rth` gave when the harness was one file, in one namespace.

For scripts outside the package that use the harness as `rth.<name>`
(selftests/breakage/breaks.py: `from rthlib import api as rth`). It has no
code of its own; each name lives in the job module it is imported from.
Nothing in the package imports this module.
"""

from rthlib.common import (GIT_ID, HarnessError, REPO, TOOLS, cache_dir,
                           ensure_worktree, git, git_common_dir, git_out, log,
                           require, run, sha256_file, tool_package)
from rthlib.apt import apt_archive_uri, parse_apt_sources, private_apt
from rthlib.base import (BASE_ENV, BASE_TAG_PREFIX, DEBIAN_PACKAGE,
                         DEBIAN_SUITE, EXPECT_VERSION, check_version,
                         ensure_base, fetch_debian_tarball, make_base_from_src,
                         make_base_from_tarball, read_kernel_version,
                         strip_debian_gitignore, verify_sha256)
from rthlib.series import (apply_series, check_export, check_series,
                           export_series, format_series, quilt_check,
                           read_series)
from rthlib.mails import (ADDR_RE, COVER_TEMPLATE, SERIES_WIDE_FILES,
                          add_headers, cover_tables, get_maintainer,
                          merge_recipients, render_cover, split_recipients)
from rthlib.targets import (TARGETS_FILE, Target, load_targets, make_cmd,
                            parse_targets, select_targets)
from rthlib.kconfig import (FRAGMENTS, configure, dropped_options,
                            kconfig_defines, parse_fragment)
from rthlib.build import build, build_root, lock_build_dir
from rthlib.qemu import boot, qemu_cmd
from rthlib.ktap import (Case, RESULT_RE, SMP_UP_RE, SPLAT_RE, SUBTEST_RE,
                         Suite, TS_RE, failing_case_log, judge, online_cpus,
                         parse_ktap, strip_console)
from rthlib.kunit import print_table, run_targets, test_target
from rthlib.patchcheck import (EXPLAINABLE, checkpatch, sees_change,
                               touched_objects, w1_warnings)
