print("cxr-edit")
