// The watcher component (issue 4): a git source polled with libgit2, a trigger queue and a deploy
// scheduler whose loop is stepped by poll_once() with an injectable clock. Not built yet; this
// header only reserves the component so the layout and link order exist.
#pragma once

namespace podlift::watcher {
// The libgit2 version podlift was linked against, "major.minor.rev" (used by `podlift version`).
const char* libgit2_version();
}  // namespace podlift::watcher
