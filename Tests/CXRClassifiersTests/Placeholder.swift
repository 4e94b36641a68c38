import XCTest
final class CXRClassifiersTestsPlaceholder: XCTestCase { func testNothing() {} }
