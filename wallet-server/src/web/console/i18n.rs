//! Every label of the school console in Russian and Kazakh. A label is a variant of [`T`],
//! so a page cannot show a label that has no translation: the compiler checks both columns.

use crate::domain::consent::{ConsentState, Language};
use crate::domain::voucher::VoucherState;
use crate::domain::Category;

macro_rules! texts {
    ($($key:ident => $ru:literal, $kk:literal;)*) => {
        /// A translated label.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($key),* }

        impl T {
            /// Every label, for the test that none is empty.
            #[cfg(test)]
            pub const ALL: &'static [T] = &[$(T::$key),*];

            /// The label in `lang`.
            pub fn get(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $((T::$key, Language::Ru) => $ru, (T::$key, Language::Kk) => $kk,)*
                }
            }
        }
    };
}

texts! {
    AppName => "Школьное питание — консоль школы", "Мектептегі тамақтану — мектеп консолі";
    SkipToContent => "Перейти к содержимому", "Мазмұнға өту";
    NavToday => "Сегодня", "Бүгін";
    NavStudents => "Ученики", "Оқушылар";
    NavTabel => "Табель", "Табель";
    NavTerminals => "Терминалы", "Терминалдар";
    NavReports => "Отчёты", "Есептер";
    SignOut => "Выйти", "Шығу";
    Language => "Язык", "Тіл";
    RoleSocialPedagogue => "Социальный педагог", "Әлеуметтік педагог";
    RoleDirector => "Директор", "Директор";
    TodayTitle => "Сегодня в столовой", "Бүгін асханада";
    MealsServed => "Выдано питаний", "Берілген тамақ";
    StudentsFed => "Накормлено учеников", "Тамақтанған оқушылар";
    BySlot => "По приёмам пищи", "Тамақтану уақыттары бойынша";
    Slot => "Приём пищи", "Тамақтану уақыты";
    Meals => "Питания", "Тамақ";
    Terminal => "Терминал", "Терминал";
    LastSync => "Последняя синхронизация", "Соңғы синхрондау";
    Unsent => "Не отправлено (по последней отправке)", "Жіберілмеген (соңғы жіберу бойынша)";
    Never => "ещё не было", "әлі болған жоқ";
    Denials => "Отклонённые и повторные питания", "Қабылданбаған және қайталанған тамақ";
    Reason => "Причина", "Себебі";
    Count => "Количество", "Саны";
    NothingYet => "Пока ничего нет.", "Әзірге ештеңе жоқ.";
    StudentsTitle => "Ученики и ваучеры", "Оқушылар мен ваучерлер";
    Search => "Поиск по ФИО или классу", "Аты-жөні немесе сынып бойынша іздеу";
    Find => "Найти", "Іздеу";
    ExportCsv => "Скачать список (CSV)", "Тізімді жүктеу (CSV)";
    Name => "ФИО", "Аты-жөні";
    Class => "Класс", "Сынып";
    Category => "Категория", "Санат";
    Voucher => "Ваучер", "Ваучер";
    Consent => "Согласие родителя", "Ата-ананың келісімі";
    LastSms => "последнее SMS", "соңғы SMS";
    ActivatedOn => "Дата активации", "Белсендірілген күні";
    Card => "Карта", "Карта";
    CardUid => "UID карты (10 знаков 0–9, A–F)", "Карта UID (10 таңба 0–9, A–F)";
    Bind => "Привязать", "Байланыстыру";
    Unbind => "Отвязать", "Ажырату";
    NoVoucher => "Нет ваучера", "Ваучер жоқ";
    NotNeeded => "не требуется", "қажет емес";
    ConsentNotStarted => "ждёт согласия (SMS ещё не отправлено)", "келісім күтуде (SMS әлі жіберілмеген)";
    WholeDay => "Весь день", "Күні бойы";
    Found => "Найдено", "Табылды";
    CardBound => "Карта привязана.", "Карта байланыстырылды.";
    CardUnchanged => "Эта карта уже привязана к этому ученику.", "Бұл карта осы оқушыға бұрыннан байланған.";
    CardUnbound => "Карта отвязана.", "Карта ажыратылды.";
    NoCardToUnbind => "У ученика не было карты: ничего не изменено.", "Оқушының картасы болған жоқ: ештеңе өзгертілмеді.";
    BadCardUid => "Неверный UID карты: нужно ровно 10 шестнадцатеричных знаков (0–9, A–F), например 0102ABCDEF. Ничего не изменено.", "Карта UID қате: дәл 10 он алтылық таңба қажет (0–9, A–F), мысалы 0102ABCDEF. Ештеңе өзгертілмеді.";
    CardTaken => "Эта карта привязана к другому ученику. Сначала отвяжите её там. Ничего не изменено.", "Бұл карта басқа оқушыға байланған. Алдымен оны сол жерде ажыратыңыз. Ештеңе өзгертілмеді.";
    TabelTitle => "Табель учёта питания", "Тамақтануды есепке алу табелі";
    Month => "Месяц", "Ай";
    Show => "Показать", "Көрсету";
    Download => "Скачать", "Жүктеу";
    Total => "Итого", "Барлығы";
    Payable => "К оплате", "Төленетін сома";
    MealPrice => "Цена питания", "Тамақ бағасы";
    PerDay => "Питаний за день", "Күндік тамақ";
    Legend => "Серым отмечены выходные и праздники.", "Сұр түспен демалыс және мереке күндері белгіленген.";
    Approve => "Утвердить табель", "Табельді бекіту";
    ConfirmTitle => "Подтвердите утверждение", "Бекітуді растаңыз";
    ConfirmText => "После утверждения табель замораживается: его содержание больше не меняется, поздние питания попадут в следующий месяц.", "Бекітілгеннен кейін табель өзгермейді: кеш түскен тамақ келесі айға ауысады.";
    ConfirmYes => "Да, утвердить", "Иә, бекіту";
    Cancel => "Отмена", "Болдырмау";
    ApprovedStamp => "Утверждён", "Бекітілді";
    NotApproved => "Не утверждён", "Бекітілмеген";
    ApprovedNow => "Табель утверждён и заморожен.", "Табель бекітіліп, өзгермейтін болды.";
    AlreadyApproved => "Этот табель уже утверждён. Повторное нажатие ничего не изменило.", "Бұл табель бұрын бекітілген. Қайта басу ештеңені өзгертпеді.";
    MonthNotEnded => "Месяц ещё не закончился: утвердить табель можно с 1-го числа следующего месяца.", "Ай әлі аяқталған жоқ: табельді келесі айдың 1-інен бастап бекітуге болады.";
    MonthInFuture => "Этот месяц ещё не начался: табеля нет.", "Бұл ай әлі басталған жоқ: табель жоқ.";
    BadMonth => "Месяц указывается как ГГГГ-ММ, например 2026-11.", "Ай ЖЖЖЖ-АА түрінде көрсетіледі, мысалы 2026-11.";
    OnlyDirector => "Утверждает табель только директор школы.", "Табельді тек мектеп директоры бекітеді.";
    LateMeals => "Поздние питания прошлого месяца (доплата)", "Өткен айдың кеш түскен тамағы (қосымша төлем)";
    Excluded => "Повторные и отклонённые питания (не оплачиваются)", "Қайталанған және қабылданбаған тамақ (төленбейді)";
    Day => "Дата", "Күні";
    Received => "Получено", "Алынды";
    Status => "Статус", "Күйі";
    TerminalsTitle => "Терминалы столовой", "Асхана терминалдары";
    CreateCode => "Создать код подключения", "Қосылу кодын жасау";
    CodeHelp => "Введите этот код на новом терминале (--enroll). Код показывается один раз.", "Бұл кодты жаңа терминалға енгізіңіз (--enroll). Код бір рет көрсетіледі.";
    ValidUntil => "Действует до", "Жарамдылық мерзімі";
    Enrolled => "Подключён", "Қосылған күні";
    Active => "Работает", "Жұмыс істейді";
    RevokedState => "Отключён", "Ажыратылған";
    Revoke => "Отключить", "Ажырату";
    TerminalRevoked => "Терминал отключён: его токен больше не действует.", "Терминал ажыратылды: оның токені енді жарамсыз.";
    NoTerminals => "Терминалов пока нет. Создайте код подключения.", "Әзірге терминал жоқ. Қосылу кодын жасаңыз.";
    ReportsTitle => "Ежедневные отчёты за 30 дней", "Соңғы 30 күндегі күнделікті есептер";
    Chart => "Питания по дням", "Күндер бойынша тамақ";
    Duplicates => "Повторы", "Қайталаулар";
    VouchersFormed => "Ваучеров сформировано", "Қалыптастырылған ваучерлер";
    VouchersActivated => "Активировано", "Белсендірілген";
    VouchersRevoked => "Отозвано", "Қайтарылған";
    SignInTitle => "Вход для сотрудников школы", "Мектеп қызметкерлерінің кіруі";
    SignInText => "Социальные педагоги и директора входят через систему идентификации.", "Әлеуметтік педагогтар мен директорлар сәйкестендіру жүйесі арқылы кіреді.";
    SignInButton => "Войти", "Кіру";
    SignInNotConfigured => "Вход не настроен: администратор должен указать CONSOLE_OIDC_ISSUER.", "Кіру бапталмаған: әкімші CONSOLE_OIDC_ISSUER көрсетуі керек.";
    SessionExpired => "Сессия истекла или не найдена. Войдите снова.", "Сессия аяқталды немесе табылмады. Қайта кіріңіз.";
    SignedOut => "Вы вышли из консоли.", "Сіз консольден шықтыңыз.";
    SignInFailed => "Войти не удалось", "Кіру мүмкін болмады";
    SignInFailedText => "Система идентификации не подтвердила вход. Попробуйте ещё раз.", "Сәйкестендіру жүйесі кіруді растамады. Қайталап көріңіз.";
    NotFoundTitle => "Страница не найдена", "Бет табылмады";
    NotFoundText => "Такой страницы нет, или она относится к другой школе.", "Мұндай бет жоқ немесе ол басқа мектепке тиесілі.";
    CsrfTitle => "Форма не прошла проверку", "Форма тексеруден өтпеді";
    CsrfText => "Форма устарела или отправлена не из консоли. Ничего не изменено. Откройте страницу заново и повторите.", "Форма ескірген немесе консольден жіберілмеген. Ештеңе өзгертілмеді. Бетті қайта ашып, қайталаңыз.";
    ForbiddenTitle => "Нет доступа", "Рұқсат жоқ";
    BadRequestTitle => "Неверный запрос", "Қате сұрау";
    BadRequestText => "Запрос не понят. Ничего не изменено.", "Сұрау түсініксіз. Ештеңе өзгертілмеді.";
    ErrorTitle => "Ошибка", "Қате";
    InternalText => "Что-то пошло не так. Попробуйте ещё раз чуть позже.", "Бірдеңе дұрыс болмады. Сәлден соң қайталап көріңіз.";
    BackToConsole => "Вернуться в консоль", "Консольге оралу";
}

/// A voucher state in words.
pub fn voucher_state(state: Option<VoucherState>, lang: Language) -> &'static str {
    let (ru, kk) = match state {
        Some(VoucherState::Formed) => ("Сформирован", "Қалыптастырылды"),
        Some(VoucherState::Activated) => ("Активирован", "Белсендірілді"),
        Some(VoucherState::Expired) => ("Истёк", "Мерзімі өтті"),
        Some(VoucherState::Revoked) => ("Отозван", "Қайтарылды"),
        None => return T::NoVoucher.get(lang),
    };
    pick(lang, ru, kk)
}

/// A consent state in words.
pub fn consent_state(state: ConsentState, lang: Language) -> &'static str {
    let (ru, kk) = match state {
        ConsentState::Pending => ("Ждём ответа на SMS", "SMS жауабы күтілуде"),
        ConsentState::Reminded => ("Отправлено напоминание", "Еске салу жіберілді"),
        ConsentState::Agreed => ("Согласие получено", "Келісім алынды"),
        ConsentState::Refused => ("Отказ", "Бас тартты"),
        ConsentState::TimedOut => ("Нет ответа", "Жауап болмады"),
        ConsentState::NoPhone => ("Нет номера телефона", "Телефон нөмірі жоқ"),
    };
    pick(lang, ru, kk)
}

/// A meal slot's name; the default whole-day slot `day` in words.
pub fn slot(name: &str, lang: Language) -> String {
    if name == "day" {
        T::WholeDay.get(lang).to_string()
    } else {
        name.to_string()
    }
}

/// A category in words.
pub fn category(c: Category, lang: Language) -> &'static str {
    let (ru, kk) = match c {
        Category::Asp => ("Получатели АСП", "АӘК алушылар"),
        Category::LowIncome => ("Малообеспеченные", "Аз қамтылған"),
        Category::Orphan => ("Сироты и без попечения", "Жетімдер және қамқорсыздар"),
        Category::Primary => ("Начальные классы", "Бастауыш сыныптар"),
    };
    pick(lang, ru, kk)
}

/// Why a meal was not billed (the codes of `meals.rs` and `duplicate`).
pub fn meal_reason(code: &str, lang: Language) -> String {
    let (ru, kk) = match code {
        "duplicate" => (
            "Повторно в тот же приём пищи",
            "Сол тамақтану уақытында қайталап",
        ),
        "unknown_voucher" => ("Неизвестный ваучер", "Белгісіз ваучер"),
        "other_school" => ("Ученик другой школы", "Басқа мектептің оқушысы"),
        "served_in_the_future" => ("Время выдачи в будущем", "Берілу уақыты болашақта"),
        "wrong_service_day" => ("Не тот учебный день", "Оқу күні сәйкес емес"),
        "wrong_slot" => ("Не тот приём пищи", "Тамақтану уақыты сәйкес емес"),
        "outside_hours" => ("Вне часов питания", "Тамақтану уақытынан тыс"),
        "voucher_inactive" => ("Ваучер не действует", "Ваучер жарамсыз"),
        "outside_programme" => ("Вне сроков программы", "Бағдарлама мерзімінен тыс"),
        other => return other.to_string(),
    };
    pick(lang, ru, kk).to_string()
}

fn pick(lang: Language, ru: &'static str, kk: &'static str) -> &'static str {
    match lang {
        Language::Ru => ru,
        Language::Kk => kk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_translated() {
        for t in T::ALL {
            let (ru, kk) = (t.get(Language::Ru), t.get(Language::Kk));
            assert!(!ru.trim().is_empty() && !kk.trim().is_empty(), "{t:?}");
        }
        // Kazakh labels are not Russian copies (a few words are the same in both).
        let same = T::ALL
            .iter()
            .filter(|t| t.get(Language::Ru) == t.get(Language::Kk))
            .count();
        assert!(same <= 6, "{same} labels are the same in both languages");
        assert_eq!(
            meal_reason("other_school", Language::Kk),
            "Басқа мектептің оқушысы"
        );
        assert_eq!(
            meal_reason("outside_programme", Language::Ru),
            "Вне сроков программы"
        );
        assert_eq!(meal_reason("new_code", Language::Ru), "new_code");
    }
}
