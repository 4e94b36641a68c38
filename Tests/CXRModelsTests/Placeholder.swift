import XCTest
final class CXRModelsTestsPlaceholder: XCTestCase { func testNothing() {} }
