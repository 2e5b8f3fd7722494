# The usual qa-send suite: one qa-testd named S for the file, each test in
# its own directory (testd_env).  `load testd-suite` in place of
# `load testd` gives a suite these hooks; one that needs others loads testd
# and writes its own.
load testd

setup_file() { start_testd S; }
teardown_file() { stop_testd S; }
setup() { testd_env; }
