# fuzz_json_reader: any bytes -> parse_json (RapidJSON's tokenizer) and json::parse; they must
# accept the same texts and build identical documents.
#   build-fuzz/fuzz/fuzz_json_reader -max_total_time=20 /tmp/json-corpus ../shared/corpus/admission-captures
add_executable(fuzz_json_reader ${CMAKE_CURRENT_LIST_DIR}/json_reader.cpp)
target_link_libraries(fuzz_json_reader PRIVATE nlohmann_json::nlohmann_json PkgConfig::RAPIDJSON)
target_link_options(fuzz_json_reader PRIVATE -fsanitize=fuzzer)
