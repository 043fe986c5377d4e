#include "anyfs/error.h"

#include <gtest/gtest.h>

namespace anyfs {
namespace {

TEST(Errc, MapsOneToOneOntoErrno) {
  for (int e : {ENOENT, EEXIST,  ENOTDIR, EISDIR,     ENOTEMPTY, ENOSPC, EDQUOT, EROFS, EBUSY,   ELOOP,  ENAMETOOLONG,
                EILSEQ, EUCLEAN, EIO,     EOPNOTSUPP, EACCES,    EPERM,  EINVAL, EXDEV, ENODATA, ERANGE, E2BIG}) {
    Errc code = errc_from_errno(e);
    EXPECT_EQ(to_errno(code), e) << e;
    EXPECT_NE(errc_name(code), "Unknown") << e;
  }
}

TEST(Errc, UnknownErrnoBecomesIoWithItsText) {
  EXPECT_EQ(errc_from_errno(ECHILD), Errc::Io);
  auto err = fail_errno(ECHILD, "/p");
  EXPECT_EQ(err.error().code, Errc::Io);
  EXPECT_NE(err.error().message.find("child"), std::string::npos);
}

TEST(Error, ToStringNamesPathAndCause) {
  Error e(Errc::NotFound, "/a/b", "lookup failed");
  EXPECT_EQ(e.to_string(), "/a/b: lookup failed (No such file or directory)");
}

Result<int> half(int x) {
  if (x % 2) return fail(Errc::InvalidArgument, "", "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  int h = ANYFS_TRY(half(x));
  return ANYFS_TRY(half(h));
}

TEST(Error, TryPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).error().code, Errc::InvalidArgument);
}

}  // namespace
}  // namespace anyfs
