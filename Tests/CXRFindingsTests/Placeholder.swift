import XCTest
final class CXRFindingsTestsPlaceholder: XCTestCase { func testNothing() {} }
