// The webhooks component (issue 4): cpp-httplib server, provider parsers and signature checks,
// /healthz, /metrics and the status page. Not built yet; reserved so the layout exists.
#pragma once
