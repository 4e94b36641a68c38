import XCTest
final class CXRProbeTestsPlaceholder: XCTestCase { func testNothing() {} }
