# Grüße aus Köln 😀
def grüßen(名前):
    return f"Hallo {名前} 👋"


def main():
    print(grüßen($0))
