import XCTest
final class CXRSchedulersTestsPlaceholder: XCTestCase { func testNothing() {} }
