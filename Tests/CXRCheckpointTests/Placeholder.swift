import XCTest
final class CXRCheckpointTestsPlaceholder: XCTestCase { func testNothing() {} }
