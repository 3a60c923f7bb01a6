# fuzz_review_decoder: AdmissionReview bytes -> parse_review -> render_review.
#   ./fuzz_review_decoder -max_total_time=20 ../shared/corpus/admission-captures
add_executable(fuzz_review_decoder ${CMAKE_CURRENT_LIST_DIR}/review_decoder.cpp)
target_link_libraries(fuzz_review_decoder PRIVATE lg_webhook)
target_link_options(fuzz_review_decoder PRIVATE -fsanitize=fuzzer)

# fuzz_http_request: request bytes -> parse_head -> ChunkedDecoder (in one read, and split in two).
#   build-fuzz/fuzz/fuzz_http_request -max_total_time=20 /tmp/http-corpus fuzz/seeds/http_request
add_executable(fuzz_http_request ${CMAKE_CURRENT_LIST_DIR}/http_request.cpp)
target_link_libraries(fuzz_http_request PRIVATE lg_webhook)
target_link_options(fuzz_http_request PRIVATE -fsanitize=fuzzer)
