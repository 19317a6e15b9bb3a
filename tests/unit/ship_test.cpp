// Shipping only missing layers: the save-stream trimmer on synthetic `docker save` tars, gzip on
// the wire, and ship_image's choices (nothing to send, trimmed, refused → whole) against fakes.
#include "deployer/ship.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "deployer/gzip.hpp"
#include "deployer/layers.hpp"
#include "fake_process.hpp"
#include "fake_remote.hpp"

namespace podlift {
namespace {

// ---- a tiny ustar writer and reader for the tests

std::string header(const std::string& name, size_t size, char type) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 0);
  std::snprintf(h.data() + 116, 8, "%07o", 0);
  std::snprintf(h.data() + 124, 12, "%011zo", size);
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h.data() + 257,
              "ustar\0"
              "00",
              8);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

void add(std::string& tar, const std::string& name, const std::string& data, char type = '0') {
  tar += header(name, data.size(), type);
  tar += data;
  tar.append((512 - data.size() % 512) % 512, '\0');
}

struct Read {
  std::string name;
  std::string data;
};

// Parses a tar, checking every header's checksum.
std::vector<Read> read_tar(const std::string& tar) {
  std::vector<Read> out;
  size_t at = 0;
  while (at + 512 <= tar.size()) {
    std::string h = tar.substr(at, 512);
    if (h == std::string(512, '\0')) {
      at += 512;
      continue;
    }
    unsigned want = static_cast<unsigned>(std::strtoul(h.substr(148, 8).c_str(), nullptr, 8));
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    EXPECT_EQ(sum, want) << "bad checksum at " << at;
    size_t size = std::strtoull(h.substr(124, 12).c_str(), nullptr, 8);
    out.push_back({std::string(h.c_str()), tar.substr(at + 512, size)});
    at += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

std::string size_of(const std::vector<Read>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.name == name) return std::to_string(e.data.size());
  }
  return "missing";
}

struct Layer {
  std::string dir;
  std::string parent;  // "" for the bottom layer
  bool top = false;
  size_t size = 0;
};

// A legacy (Docker <= 24) save stream: layer directories in name order, then config, manifest.
std::string legacy_save(std::vector<Layer> layers) {
  std::sort(layers.begin(), layers.end(), [](auto& a, auto& b) { return a.dir < b.dir; });
  std::string tar;
  for (const auto& l : layers) {
    nlohmann::json j = {{"id", l.dir}, {"created", "1970-01-01T00:00:00Z"}};
    if (!l.parent.empty()) j["parent"] = l.parent;
    if (l.top) j["config"] = {{"Cmd", {"app"}}};
    add(tar, l.dir + "/", "", '5');
    add(tar, l.dir + "/VERSION", "1.0");
    add(tar, l.dir + "/json", j.dump());
    add(tar, l.dir + "/layer.tar", std::string(l.size, 'L'));
  }
  add(tar, "f00d.json", R"({"rootfs":{"diff_ids":["sha256:a","sha256:b","sha256:c"]}})");
  add(tar, "manifest.json", "[]");
  add(tar, "repositories", "{}");
  tar.append(1024, '\0');
  return tar;
}

std::string trim(LayerTrimmer& t, const std::string& in, size_t piece) {
  std::string out;
  for (size_t i = 0; i < in.size(); i += piece) t.feed(std::string_view(in).substr(i, piece), &out);
  EXPECT_TRUE(t.complete());
  return out;
}

const std::vector<std::string> kIds = {"sha256:a", "sha256:b", "sha256:c"};

TEST(PresentPrefix, IsTheLongestSharedChainFromTheBottom) {
  EXPECT_EQ(present_prefix(kIds, {}), 0u);
  EXPECT_EQ(present_prefix(kIds, {{"sha256:a", "sha256:b", "sha256:x"}}), 2u);
  EXPECT_EQ(present_prefix(kIds, {{"sha256:a"}, {"sha256:a", "sha256:b", "sha256:c", "d"}}), 3u);
  // The same layer on top of another base is another chain: it does not count.
  EXPECT_EQ(present_prefix(kIds, {{"sha256:x", "sha256:b"}}), 0u);
}

TEST(PresentPrefix, ParsesDockerInspectLines) {
  auto lists = parse_layer_lists("[\"sha256:a\",\"sha256:b\"]\nnull\ngarbage\n[\"sha256:c\"]\n");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0], (std::vector<std::string>{"sha256:a", "sha256:b"}));
  EXPECT_EQ(lists[1], (std::vector<std::string>{"sha256:c"}));
}

TEST(LayerTrimmer, OnlyTheTopLayerTravelsWhenTheServerHasTheRest) {
  // Names chosen so that directories arrive top first, before their parents.
  std::string save = legacy_save(
      {{"c0", "b2", true, 9000}, {"a1", "", false, 300000}, {"b2", "a1", false, 70000}});
  for (size_t piece : {1ul, 511ul, 512ul, 4096ul, save.size()}) {
    LayerTrimmer t(kIds, 2);
    auto entries = read_tar(trim(t, save, piece));
    EXPECT_EQ(size_of(entries, "a1/layer.tar"), "0") << piece;
    EXPECT_EQ(size_of(entries, "b2/layer.tar"), "0") << piece;
    EXPECT_EQ(size_of(entries, "c0/layer.tar"), "9000") << piece;
    EXPECT_EQ(size_of(entries, "manifest.json"), "2");
    EXPECT_EQ(t.layers_emptied(), 2u);
    EXPECT_EQ(t.bytes_emptied(), 370000u);
  }
}

TEST(LayerTrimmer, AMiddleLayerOfUnknownPositionIsSentWhole) {
  // "1mid" arrives before its parent "8root": its position is unknown when its layer comes.
  std::string save = legacy_save(
      {{"0top", "1mid", true, 10}, {"1mid", "8root", false, 2000}, {"8root", "", false, 5000}});
  LayerTrimmer blind(kIds, 1);
  auto entries = read_tar(trim(blind, save, 1000));
  EXPECT_EQ(size_of(entries, "8root/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "1mid/layer.tar"), "2000");
  EXPECT_EQ(size_of(entries, "0top/layer.tar"), "10");

  // With the positions learnt by a first pass, the answer is exact.
  LayerMapper mapper;
  mapper.feed(save, nullptr);
  auto known = mapper.positions();
  EXPECT_EQ(known["8root"], 0u);
  EXPECT_EQ(known["1mid"], 1u);
  EXPECT_EQ(known["0top"], 2u);
  LayerTrimmer exact(kIds, 2, known);
  entries = read_tar(trim(exact, save, 1000));
  EXPECT_EQ(size_of(entries, "8root/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "1mid/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "0top/layer.tar"), "10");
}

TEST(LayerTrimmer, NothingPresentMeansTheStreamIsUnchanged) {
  std::string save =
      legacy_save({{"c0", "b2", true, 9000}, {"a1", "", false, 3000}, {"b2", "a1", false, 7000}});
  LayerTrimmer t(kIds, 0);
  EXPECT_EQ(trim(t, save, 333), save);
}

TEST(LayerTrimmer, EntriesAfterAPaxHeaderPassUntouched) {
  std::string tar;
  add(tar, "a1/json", R"({"id":"a1"})");
  add(tar, "PaxHeaders/a1", "30 path=a1/layer.tar\n", 'x');
  add(tar, "a1/layer.tar", std::string(1000, 'L'));
  tar.append(1024, '\0');
  LayerTrimmer t({"sha256:a", "sha256:b"}, 1);
  EXPECT_EQ(trim(t, tar, 100), tar);
}

TEST(LayerTrimmer, OciLayoutBlobsAreNamedByDiffId) {
  std::string tar;
  add(tar, "blobs/sha256/a", std::string(4000, 'A'));
  add(tar, "blobs/sha256/c", std::string(300, 'C'));
  add(tar, "blobs/sha256/cfg", "{}");
  add(tar, "index.json", "{}");
  tar.append(1024, '\0');
  LayerTrimmer t(kIds, 2);
  auto entries = read_tar(trim(t, tar, 700));
  EXPECT_EQ(size_of(entries, "blobs/sha256/a"), "0");
  EXPECT_EQ(size_of(entries, "blobs/sha256/c"), "300");
  EXPECT_EQ(size_of(entries, "blobs/sha256/cfg"), "2");
}

TEST(LayerTrimmer, AFileThatAHigherLayerLinksToIsNotEmptied) {
  // Layers a, e, b, e: docker save writes the second "e" as a symlink to the first one's file.
  const std::vector<std::string> ids = {"sha256:a", "sha256:e", "sha256:b", "sha256:e"};
  std::string tar;
  auto dir = [&](const std::string& d, const std::string& parent, bool top, bool link) {
    nlohmann::json j = {{"id", d}};
    if (!parent.empty()) j["parent"] = parent;
    if (top) j["config"] = nlohmann::json::object();
    add(tar, d + "/json", j.dump());
    if (link) {
      std::string h = header(d + "/layer.tar", 0, '2');
      tar += h;  // a symlink entry: no data
    } else {
      add(tar, d + "/layer.tar", std::string(3000, 'L'));
    }
  };
  dir("d0", "", false, false);
  dir("d1", "d0", false, false);
  dir("d2", "d1", false, false);
  dir("d3", "d2", true, true);
  tar.append(1024, '\0');
  LayerTrimmer t(ids, 3);  // the server has a, e, b: the top "e" is missing
  auto entries = read_tar(trim(t, tar, 512));
  EXPECT_EQ(size_of(entries, "d0/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "d1/layer.tar"), "3000");  // d3's layer.tar points here
  EXPECT_EQ(size_of(entries, "d2/layer.tar"), "0");
}

TEST(LayerTrimmer, APaxSizeIsHonouredAndLaterLayersAreStillTrimmed) {
  std::string tar;
  add(tar, "a1/json", R"({"id":"a1"})");
  // Go writes entries of 8 GiB and more with their size in a pax record and 0 in the header.
  const std::string big(5000, 'B');
  const std::string record = "13 size=" + std::to_string(big.size()) + "\n";
  ASSERT_EQ(record.size(), 13u);
  add(tar, "PaxHeaders/a1/layer.tar", record, 'x');
  tar += header("a1/layer.tar", 0, '0');
  tar += big;
  tar.append((512 - big.size() % 512) % 512, '\0');
  add(tar, "b2/json", R"({"id":"b2","parent":"a1"})");
  add(tar, "b2/layer.tar", std::string(2000, 'L'));
  add(tar, "c3/json", R"({"id":"c3","parent":"b2","config":{}})");
  add(tar, "c3/layer.tar", std::string(100, 'T'));
  tar.append(1024, '\0');
  LayerTrimmer t(kIds, 2);
  std::string out = trim(t, tar, 777);
  EXPECT_NE(out.find(big), std::string::npos);  // passed whole, after its extension header
  auto at = out.find("b2/layer.tar");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(std::strtoull(out.substr(at + 124, 12).c_str(), nullptr, 8), 0u);  // emptied
  EXPECT_EQ(t.layers_emptied(), 1u);
}

TEST(LayerTrimmer, AStreamItCannotReadPassesUntouched) {
  std::string save =
      legacy_save({{"c0", "b2", true, 900}, {"a1", "", false, 3000}, {"b2", "a1", false, 700}});
  save[148] = '9';  // the first header's checksum no longer matches
  LayerTrimmer t(kIds, 2);
  std::string out;
  t.feed(save, &out);
  EXPECT_EQ(out, save);
  EXPECT_EQ(t.layers_emptied(), 0u);
}

TEST(LayerTrimmer, ATruncatedStreamIsNotComplete) {
  std::string save = legacy_save({{"a1", "", true, 3000}});
  LayerTrimmer t({"sha256:a"}, 0);
  std::string out;
  t.feed(std::string_view(save).substr(0, 2000), &out);
  EXPECT_FALSE(t.complete());
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

TEST(Gzip, RoundTripsAndShrinksRepetitiveData) {
  std::string data;
  for (int i = 0; i < 20000; ++i) data += "layer " + std::to_string(i % 97) + "\n";
  GzipWriter gz(1);
  std::string out;
  for (size_t i = 0; i < data.size(); i += 1000)
    gz.write(std::string_view(data).substr(i, 1000), out);
  gz.finish(out);
  EXPECT_LT(out.size(), data.size() / 4);
  EXPECT_EQ(gunzip(out), data);
}

TEST(ProcessStream, ASilentProducerFailsAtTheIdleBound) {
  SystemProcessRunner runner;
  ProcessOptions o;
  o.idle_timeout = std::chrono::milliseconds(300);
  auto stream = runner.stream({"sh", "-c", "printf x; exec sleep 30"}, o);
  char buf[16];
  EXPECT_EQ(stream->read(buf, sizeof buf), 1u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(stream->read(buf, sizeof buf), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// ---- ship_image against a fake server and a fake build box

struct ShipFixture : ::testing::Test {
  FakeProcessRunner local;
  FakeRemote remote;
  std::string save = legacy_save(
      {{"c0", "b2", true, 9000}, {"a1", "", false, 300000}, {"b2", "a1", false, 70000}});
  void SetUp() override {
    setenv("PODLIFT_DOCKER", "/usr/bin/docker", 1);
    local.on("/usr/bin/docker image inspect --format '{{json .RootFS.Layers}}'", 0,
             R"(["sha256:a","sha256:b","sha256:c"])"
             "\n");
    local.on("/usr/bin/docker save", 0, save);
  }
  ShipOptions options() {
    ShipOptions o;
    o.compression_level = 1;
    return o;
  }
  std::vector<std::string> loads() {
    std::vector<std::string> out;
    for (const auto& c : remote.calls) {
      if (c.command.rfind("docker load", 0) == 0) out.push_back(c.stdin_data);
    }
    return out;
  }
};

TEST_F(ShipFixture, AnImageTheServerHasShipsNothing) {
  remote.on("docker image inspect --format '{{.Id}}'", 0, "sha256:f00d\n");
  LocalImage image(local, "podlift/web:v2");
  auto r = ship_image(image, remote, options(), nullptr, nullptr);
  EXPECT_TRUE(r.already_present);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_TRUE(loads().empty());
  EXPECT_EQ(local.count("/usr/bin/docker save"), 0u);
}

TEST_F(ShipFixture, OnlyTheMissingLayerTravelsGzipped) {
  remote.on("docker image inspect --format '{{.Id}}'", 1, "", "No such image");
  remote.on("sh -c", 0,
            R"(["sha256:a","sha256:b","sha256:old"])"
            "\n");
  LocalImage image(local, "podlift/web:v2");
  auto r = ship_image(image, remote, options(), nullptr, nullptr);
  EXPECT_FALSE(r.already_present);
  EXPECT_EQ(r.layers, 3u);
  EXPECT_EQ(r.layers_skipped, 2u);
  EXPECT_EQ(r.bytes_skipped, 370000u);
  ASSERT_EQ(loads().size(), 1u);
  auto entries = read_tar(gunzip(loads()[0]));
  EXPECT_EQ(size_of(entries, "a1/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "c0/layer.tar"), "9000");
  EXPECT_EQ(r.bytes, loads()[0].size());
  EXPECT_EQ(r.image_bytes, save.size());
  // Only the top layer was missing: no first pass over the image was needed.
  EXPECT_EQ(local.count("/usr/bin/docker save"), 1u);
}

TEST_F(ShipFixture, ARefusedTrimmedStreamIsFollowedByTheWholeImage) {
  remote.on("docker image inspect --format '{{.Id}}'", 1, "", "No such image");
  remote.on("sh -c", 0,
            R"(["sha256:a","sha256:b"])"
            "\n");
  remote.on("docker load", 1, "",
            "open /var/lib/docker/tmp/x/a1/layer.tar: invalid diffID for layer 0: expected "
            "\"sha256:a\", got \"sha256:e3b0\"");
  std::vector<std::string> warnings;
  LocalImage image(local, "podlift/web:v2");
  auto r = ship_image(image, remote, options(), nullptr,
                      [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_EQ(loads().size(), 2u);
  EXPECT_TRUE(r.fell_back);
  EXPECT_EQ(r.layers_skipped, 0u);
  EXPECT_EQ(gunzip(loads()[1]), save);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("invalid diffID"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("sending the whole image"), std::string::npos);
}

TEST_F(ShipFixture, ALoadThatFailsOnTheWholeImageIsAnError) {
  remote.on("docker image inspect --format '{{.Id}}'", 1, "", "No such image");
  remote.on("sh -c", 0, "");
  remote.on("docker load", 1, "", "no space left on device");
  LocalImage image(local, "podlift/web:v2");
  try {
    ship_image(image, remote, options(), nullptr, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no space left on device"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("root@fake:22"), std::string::npos);
  }
  EXPECT_EQ(loads().size(), 1u);  // nothing was trimmed, so there is nothing to retry
}

TEST_F(ShipFixture, MoreThanTheTopMissingTakesAFirstPassForPositions) {
  remote.on("docker image inspect --format '{{.Id}}'", 1, "", "No such image");
  remote.on("sh -c", 0,
            R"(["sha256:a","sha256:x"])"
            "\n");
  ShipOptions o = options();
  o.compression_level = 0;  // raw tar on the wire
  LocalImage image(local, "podlift/web:v2");
  auto r = ship_image(image, remote, o, nullptr, nullptr);
  EXPECT_EQ(local.count("/usr/bin/docker save"), 2u);
  EXPECT_EQ(r.layers_skipped, 1u);
  auto entries = read_tar(loads().at(0));
  EXPECT_EQ(size_of(entries, "a1/layer.tar"), "0");
  EXPECT_EQ(size_of(entries, "b2/layer.tar"), "70000");
}

TEST_F(ShipFixture, TrimmingOffSendsTheWholeImage) {
  remote.on("docker image inspect --format '{{.Id}}'", 1, "", "No such image");
  ShipOptions o = options();
  o.trim_layers = false;
  LocalImage image(local, "podlift/web:v2");
  ship_image(image, remote, o, nullptr, nullptr);
  EXPECT_EQ(gunzip(loads().at(0)), save);
  for (const auto& c : remote.calls) EXPECT_EQ(c.command.rfind("sh -c", 0), std::string::npos);
}

}  // namespace
}  // namespace podlift
