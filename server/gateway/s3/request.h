#pragma once
// The request head as the S3 handlers see it: the HTTP layer's RequestView.

#include "server/gateway/http/request.h"  // IWYU pragma: export
