import XCTest
final class CXRPipelinesTestsPlaceholder: XCTestCase { func testNothing() {} }
