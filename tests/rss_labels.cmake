# Read by ctest after the discovered gtest cases are defined (tests/CMakeLists.txt:
# TEST_INCLUDE_FILES): the cases that bound a process's RSS get the label `rss` besides their
# own (the Python ones get it in tests/CMakeLists.txt). The ASan lane
# (deploy/sanitize.sh) runs ctest with -LE rss: under AddressSanitizer RSS counts shadow memory
# and the quarantine of freed blocks (up to 256 MiB), so a bound of +64 MiB (the node under
# tokenless load), 512 MiB (the gateway under stalled GETs) or the pipeline's budget plus
# 150 MiB (its own process writing 2 GiB) says nothing about our code there.
# (gtest_discover_tests cannot give a discovered case two labels: its PROPERTIES lose the list.)
# ctest's test files know no get_test_property: the labels are written whole.
set_tests_properties(NodeTest.TokenlessClientsCannotMakeTheNodeHoldTheirMessages
  PipelineMemoryTest.TwoGibibytesStayWithinBudgetPlusFixedOverhead
  PROPERTIES LABELS "integration;rss")
