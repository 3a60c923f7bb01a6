# Manifest decoder: arbitrary bytes -> decode_manifest (YAML/JSON -> Objects with positions).
add_executable(fuzz_manifest_decoder ${CMAKE_CURRENT_LIST_DIR}/manifest_decoder.cpp)
target_link_libraries(fuzz_manifest_decoder PRIVATE lg_rules)
target_link_options(fuzz_manifest_decoder PRIVATE -fsanitize=fuzzer)
