/*
 * search_bench — souk's product search against SQLite FTS5, side by side.
 *
 * 1. Generates N products deterministically (product i depends only on i):
 *    1,000 leaf categories (Zipf), English, Chinese and mixed titles built
 *    from real product words plus generated brand names, attributes and
 *    descriptions with Zipf-distributed words.
 * 2. Bulk-loads them into a search_index (2 threads), measuring time and
 *    peak RSS.
 * 3. Runs a query mix (1-3 words, prefixes, typos, Chinese) from 2 threads:
 *    qps, p50/p99/max latency; each query computes total, facets and
 *    highlights for 20 hits.
 * 4. Measures write visibility (upsert → searchable) and a full merge.
 * 5. Loads the same products into SQLite FTS5 (porter unicode61, prefix
 *    index 2 and 3, in /dev/shm) and runs the English queries of the same mix
 *    (FTS5 cannot split Chinese, and has no typo tolerance) from 2 threads
 *    with bm25 ranking, LIMIT 20; souk runs exactly the same queries.
 * Prints a Markdown section on stdout.
 *
 * Usage: search_bench [products] [queries] [fts5_queries]
 */
#include "discovery/search.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- vocabulary ----------------------------------------------------------- */

static const char *const en_nouns[] = {
    "backpack",     "bag",         "wallet",     "belt",       "watch",      "phone",
    "case",         "charger",     "cable",      "headphones", "earbuds",    "speaker",
    "keyboard",     "mouse",       "monitor",    "laptop",     "tablet",     "camera",
    "lens",         "tripod",      "drone",      "router",     "printer",    "lamp",
    "chair",        "desk",        "table",      "sofa",       "pillow",     "blanket",
    "mattress",     "curtain",     "rug",        "towel",      "mug",        "bottle",
    "kettle",       "blender",     "toaster",    "pan",        "pot",        "knife",
    "spoon",        "plate",       "bowl",       "cup",        "jacket",     "coat",
    "shirt",        "sweater",     "hoodie",     "dress",      "skirt",      "jeans",
    "trousers",     "shorts",      "socks",      "shoes",      "sneakers",   "boots",
    "sandals",      "slippers",    "hat",        "cap",        "scarf",      "gloves",
    "sunglasses",   "necklace",    "bracelet",   "ring",       "earrings",   "perfume",
    "lipstick",     "shampoo",     "cream",      "serum",      "toothbrush", "razor",
    "dryer",        "vacuum",      "fan",        "heater",     "humidifier", "purifier",
    "refrigerator", "washer",      "microwave",  "oven",       "stove",      "grill",
    "tent",         "sleeping",    "flashlight", "bicycle",    "helmet",     "scooter",
    "skateboard",   "ball",        "racket",     "dumbbell",   "yoga",       "mat",
    "treadmill",    "toy",         "puzzle",     "doll",       "blocks",     "stroller",
    "diaper",       "crib",        "notebook",   "pen",        "pencil",     "marker",
    "stapler",      "tape",        "glue",       "scissors",   "drill",      "hammer",
    "wrench",       "screwdriver", "saw",        "ladder",     "hose",       "shovel",
    "seeds",        "fertilizer",  "tea",        "coffee",     "honey",      "rice",
    "noodles",      "snacks",      "chocolate",  "cookies",    "wine",       "juice",
};
static const char *const en_adjs[] = {
    "new",          "classic",   "portable",   "wireless",   "waterproof", "lightweight",
    "durable",      "premium",   "mini",       "large",      "small",      "smart",
    "vintage",      "modern",    "casual",     "formal",     "slim",       "thick",
    "soft",         "warm",      "cool",       "breathable", "foldable",   "adjustable",
    "rechargeable", "ergonomic", "organic",    "natural",    "handmade",   "luxury",
    "professional", "outdoor",   "indoor",     "travel",     "kids",       "baby",
    "mens",         "womens",    "unisex",     "summer",     "winter",     "spring",
    "autumn",       "retro",     "minimalist", "compact",    "heavy",      "quiet",
    "fast",         "digital",   "electric",   "manual",     "automatic",  "magnetic",
    "stainless",    "nonstick",  "reusable",   "disposable", "eco",        "sports",
    "running",      "hiking",    "camping",    "fishing",    "gaming",     "office",
    "kitchen",      "bathroom",  "bedroom",    "garden",     "car",        "pet",
    "anti",         "ultra",     "super",      "extra",      "double",     "single",
    "round",        "square",    "oversized",  "fitted",     "stretch",    "padded",
};
static const char *const en_colors[] = {
    "black", "white", "red",    "blue", "green",  "yellow", "pink",     "purple",
    "grey",  "brown", "beige",  "navy", "orange", "gold",   "silver",   "khaki",
    "olive", "ivory", "maroon", "teal", "coral",  "mint",   "charcoal", "cream",
};
static const char *const en_materials[] = {
    "cotton", "leather",  "polyester", "nylon",    "wool",     "silk",   "linen",  "denim",
    "canvas", "plastic",  "steel",     "aluminum", "wood",     "bamboo", "glass",  "ceramic",
    "rubber", "silicone", "cashmere",  "velvet",   "titanium", "carbon", "copper", "marble",
};
static const char *const en_general[] = {
    "quality",    "design",      "perfect",    "gift",      "daily",     "use",      "easy",
    "clean",      "comfortable", "fit",        "size",      "color",     "style",    "material",
    "made",       "high",        "great",      "long",      "lasting",   "strong",   "light",
    "weight",     "best",        "value",      "free",      "shipping",  "includes", "package",
    "original",   "brand",       "warranty",   "year",      "support",   "fashion",  "home",
    "work",       "school",      "party",      "holiday",   "birthday",  "family",   "friends",
    "safe",       "healthy",     "fresh",      "delicious", "power",     "battery",  "life",
    "hours",      "charging",    "compatible", "devices",   "simple",    "elegant",  "beautiful",
    "stylish",    "popular",     "choice",     "customers", "reviews",   "rated",    "top",
    "seller",     "store",       "official",   "authentic", "genuine",   "imported", "local",
    "factory",    "direct",      "price",      "discount",  "sale",      "offer",    "limited",
    "edition",    "collection",  "series",     "model",     "version",   "upgrade",  "improved",
    "technology", "performance", "efficient",  "energy",    "saving",    "noise",    "reduction",
    "protection", "resistant",   "scratch",    "shock",     "water",     "dust",     "heat",
    "cold",       "weather",     "season",     "all",       "every",     "occasion", "travel",
    "storage",    "space",       "capacity",   "pocket",    "zipper",    "handle",   "strap",
    "shoulder",   "pain",        "relief",     "skin",      "hair",      "body",     "care",
    "natural",    "ingredients", "formula",    "gentle",    "sensitive", "care",     "wash",
    "machine",    "dishwasher",  "oven",       "safe",      "easy",      "install",  "setup",
};
static const char *const zh_nouns[] = {
    "双肩包", "手提包",   "钱包",   "腰带",   "手表",   "手机",   "手机壳",     "充电器", "数据线",
    "耳机",   "蓝牙耳机", "音箱",   "键盘",   "鼠标",   "显示器", "笔记本电脑", "平板",   "相机",
    "镜头",   "三脚架",   "无人机", "路由器", "打印机", "台灯",   "椅子",       "书桌",   "餐桌",
    "沙发",   "枕头",     "毛毯",   "床垫",   "窗帘",   "地毯",   "毛巾",       "马克杯", "水杯",
    "电水壶", "榨汁机",   "面包机", "炒锅",   "汤锅",   "菜刀",   "勺子",       "盘子",   "碗",
    "夹克",   "外套",     "衬衫",   "毛衣",   "卫衣",   "连衣裙", "半身裙",     "牛仔裤", "长裤",
    "短裤",   "袜子",     "鞋子",   "运动鞋", "靴子",   "凉鞋",   "拖鞋",       "帽子",   "棒球帽",
    "围巾",   "手套",     "太阳镜", "项链",   "手链",   "戒指",   "耳环",       "香水",   "口红",
    "洗发水", "面霜",     "精华液", "牙刷",   "剃须刀", "吹风机", "吸尘器",     "电风扇", "取暖器",
    "加湿器", "净化器",   "冰箱",   "洗衣机", "微波炉", "烤箱",   "燃气灶",     "烧烤架", "帐篷",
    "睡袋",   "手电筒",   "自行车", "头盔",   "滑板车", "滑板",   "篮球",       "球拍",   "哑铃",
    "瑜伽垫", "跑步机",   "玩具",   "拼图",   "娃娃",   "积木",   "婴儿车",     "纸尿裤", "婴儿床",
    "笔记本", "钢笔",     "铅笔",   "记号笔", "订书机", "胶带",   "胶水",       "剪刀",   "电钻",
    "锤子",   "扳手",     "螺丝刀", "锯子",   "梯子",   "水管",   "铁锹",       "种子",   "化肥",
    "茶叶",   "咖啡",     "蜂蜜",   "大米",   "面条",   "零食",   "巧克力",     "饼干",   "红酒",
};
static const char *const zh_adjs[] = {
    "新款", "经典", "便携",     "无线", "防水",   "轻便",   "耐用",   "高端",     "迷你",
    "大号", "小号", "智能",     "复古", "时尚",   "休闲",   "正装",   "修身",     "加厚",
    "柔软", "保暖", "清凉",     "透气", "折叠",   "可调节", "充电",   "人体工学", "有机",
    "天然", "手工", "奢华",     "专业", "户外",   "室内",   "旅行",   "儿童",     "婴儿",
    "男士", "女士", "男女同款", "夏季", "冬季",   "春季",   "秋季",   "简约",     "紧凑",
    "静音", "快速", "数码",     "电动", "手动",   "自动",   "磁吸",   "不锈钢",   "不粘",
    "环保", "运动", "跑步",     "徒步", "露营",   "钓鱼",   "电竞",   "办公",     "厨房",
    "浴室", "卧室", "花园",     "车载", "宠物",   "超薄",   "超大",   "双层",     "圆形",
    "方形", "宽松", "弹力",     "北京", "奥运会", "纪念版", "限量版", "官方",     "正品",
};
static const char *const zh_colors[] = {"黑色", "白色", "红色", "蓝色", "绿色", "黄色",
                                        "粉色", "紫色", "灰色", "棕色", "米色", "藏青"};
static const char *const zh_materials[] = {"纯棉", "真皮", "涤纶", "尼龙", "羊毛", "真丝",
                                           "亚麻", "牛仔", "帆布", "塑料", "钢",   "铝合金",
                                           "实木", "竹",   "玻璃", "陶瓷", "橡胶", "硅胶"};
static const char *const zh_general[] = {
    "品质", "设计", "完美", "礼物", "日常", "使用", "简单", "清洁", "舒适", "合身", "尺寸", "颜色",
    "风格", "材质", "制作", "高",   "优秀", "持久", "结实", "重量", "最好", "超值", "包邮", "包含",
    "包装", "原装", "品牌", "保修", "一年", "支持", "家居", "工作", "学校", "聚会", "节日", "生日",
    "家人", "朋友", "安全", "健康", "新鲜", "美味", "电池", "续航", "小时", "兼容", "设备", "优雅",
    "美丽", "流行", "选择", "顾客", "好评", "热销", "店铺", "官方", "正品", "进口", "工厂", "直销",
    "价格", "折扣", "优惠", "限量", "系列", "型号", "升级", "改进", "技术", "性能", "高效", "节能",
    "降噪", "保护", "防刮", "防震", "防尘", "耐热", "四季", "场合", "收纳", "空间", "容量", "口袋",
    "拉链", "手柄", "肩带", "护肤", "头发", "身体",
};
static const char *const syll[] = {"ka",  "lo",  "mi",  "ra",  "zen",  "tor", "vi",  "nex", "ar",
                                   "qu",  "sol", "bel", "dor", "fi",   "gal", "hy",  "jo",  "kel",
                                   "lum", "mo",  "nor", "pra", "ri",   "sky", "ta",  "ul",  "ver",
                                   "wex", "xi",  "yo",  "zu",  "tron", "lux", "max", "pro", "cor"};
static const char zh_chars[] =
    "华美佳安宝达丰盛隆兴泰和祥瑞嘉德诚信鑫源康健乐福天地星月光明森林海川山云风雨雪梅兰竹菊"
    "金银玉珠龙凤虎鹤鹏飞腾跃创新科技智能优品尚雅致臻匠心悦享";

#define N_EN_BRANDS 20000
#define N_ZH_BRANDS 5000
#define N_LEAVES    1000
#define COUNT(a)    (sizeof(a) / sizeof((a)[0]))

static char en_brands[N_EN_BRANDS][24];
static char zh_brands[N_ZH_BRANDS][16];

/* ---- deterministic randomness ---------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t s;
};

static uint64_t rnext(struct rng *r)
{
    return mix64(r->s++);
}

static double runif(struct rng *r)
{
    return (double)(rnext(r) >> 11) / 9007199254740992.0;
}

static uint32_t rbelow(struct rng *r, uint32_t n)
{
    return (uint32_t)(rnext(r) % n);
}

/* Zipf(s) over n ranks via a precomputed CDF. */
struct zipf {
    double *cdf;
    uint32_t n;
};

static void zipf_init(struct zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->cdf = malloc(n * sizeof(double));
    double t = 0;
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] = (t += 1.0 / pow(i + 1, s));
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] /= t;
}

static uint32_t zipf_draw(const struct zipf *z, struct rng *r)
{
    double u = runif(r);
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct zipf z_leaf, z_en_brand, z_zh_brand, z_adj, z_zadj, z_color, z_mat, z_gen, z_zgen,
    z_merchant, z_noun8;

/* Each leaf category has 6 English and 4 Chinese nouns of its own. */
static uint16_t leaf_en[N_LEAVES][6], leaf_zh[N_LEAVES][4];

static void vocab_init(void)
{
    struct rng r = {12345};
    for (int i = 0; i < N_EN_BRANDS; i++) {
        int n = 2 + rbelow(&r, 2);
        en_brands[i][0] = 0;
        for (int k = 0; k < n; k++)
            strcat(en_brands[i], syll[rbelow(&r, COUNT(syll))]);
    }
    size_t nzc = strlen(zh_chars) / 3;
    for (int i = 0; i < N_ZH_BRANDS; i++) {
        size_t a = rbelow(&r, (uint32_t)nzc), b = rbelow(&r, (uint32_t)nzc);
        memcpy(zh_brands[i], zh_chars + 3 * a, 3);
        memcpy(zh_brands[i] + 3, zh_chars + 3 * b, 3);
        zh_brands[i][6] = 0;
    }
    for (int l = 0; l < N_LEAVES; l++) {
        for (int k = 0; k < 6; k++)
            leaf_en[l][k] = (uint16_t)rbelow(&r, COUNT(en_nouns));
        for (int k = 0; k < 4; k++)
            leaf_zh[l][k] = (uint16_t)rbelow(&r, COUNT(zh_nouns));
    }
    zipf_init(&z_leaf, N_LEAVES, 0.8);
    zipf_init(&z_en_brand, N_EN_BRANDS, 1.0);
    zipf_init(&z_zh_brand, N_ZH_BRANDS, 1.0);
    zipf_init(&z_adj, COUNT(en_adjs), 1.0);
    zipf_init(&z_zadj, COUNT(zh_adjs), 1.0);
    zipf_init(&z_color, COUNT(en_colors), 1.0);
    zipf_init(&z_mat, COUNT(en_materials), 1.0);
    zipf_init(&z_gen, COUNT(en_general), 1.0);
    zipf_init(&z_zgen, COUNT(zh_general), 1.0);
    zipf_init(&z_merchant, 50000, 1.0);
    zipf_init(&z_noun8, 6, 1.0);
}

/* ---- products ------------------------------------------------------------------ */

struct product {
    char title[256], attrs[256], desc[1024];
    int64_t anc[2];
    struct search_doc d;
    int lang; /* 0 English, 1 Chinese, 2 mixed */
};

static void cat_word(char *buf, size_t cap, const char *w, const char *sep)
{
    size_t l = strlen(buf);
    if (l && sep)
        snprintf(buf + l, cap - l, "%s%s", sep, w);
    else
        snprintf(buf + l, cap - l, "%s", w);
}

static void make_product(uint64_t i, struct product *p)
{
    struct rng r = {mix64(i * 7919 + 17)};
    uint32_t leaf = zipf_draw(&z_leaf, &r);
    uint32_t u = rbelow(&r, 100);
    p->lang = u < 45 ? 0 : u < 80 ? 1 : 2;
    p->title[0] = p->attrs[0] = p->desc[0] = 0;
    const char *en_noun = en_nouns[leaf_en[leaf][zipf_draw(&z_noun8, &r)]];
    const char *zh_noun = zh_nouns[leaf_zh[leaf][rbelow(&r, 4)]];
    const char *color = en_colors[zipf_draw(&z_color, &r)];
    const char *mat = en_materials[zipf_draw(&z_mat, &r)];
    if (p->lang == 0) {
        cat_word(p->title, sizeof(p->title), en_brands[zipf_draw(&z_en_brand, &r)], " ");
        p->title[0] = (char)(p->title[0] - 32); /* Capitalized brand */
        int na = 1 + rbelow(&r, 3);
        for (int k = 0; k < na; k++)
            cat_word(p->title, sizeof(p->title), en_adjs[zipf_draw(&z_adj, &r)], " ");
        if (rbelow(&r, 2)) cat_word(p->title, sizeof(p->title), color, " ");
        if (rbelow(&r, 3) == 0) cat_word(p->title, sizeof(p->title), mat, " ");
        cat_word(p->title, sizeof(p->title), en_noun, " ");
        if (rbelow(&r, 3) == 0) {
            char code[16];
            snprintf(code, sizeof(code), "%c%u", 'A' + rbelow(&r, 26), 100 + rbelow(&r, 900));
            cat_word(p->title, sizeof(p->title), code, " ");
        }
        snprintf(p->attrs, sizeof(p->attrs), "color: %s; material: %s; size: %s", color, mat,
                 (const char *[]){"S", "M", "L", "XL", "one size"}[rbelow(&r, 5)]);
        int nd = 15 + rbelow(&r, 20);
        for (int k = 0; k < nd; k++) {
            uint32_t x = rbelow(&r, 10);
            const char *w = x == 0   ? en_noun
                            : x == 1 ? en_adjs[zipf_draw(&z_adj, &r)]
                                     : en_general[zipf_draw(&z_gen, &r)];
            cat_word(p->desc, sizeof(p->desc), w, " ");
            if (k % 9 == 8) cat_word(p->desc, sizeof(p->desc), ".", "");
        }
    } else {
        const char *zc = zh_colors[rbelow(&r, COUNT(zh_colors))];
        const char *zm = zh_materials[rbelow(&r, COUNT(zh_materials))];
        if (p->lang == 2)
            cat_word(p->title, sizeof(p->title), en_brands[zipf_draw(&z_en_brand, &r)], "");
        else
            cat_word(p->title, sizeof(p->title), zh_brands[zipf_draw(&z_zh_brand, &r)], "");
        int na = 1 + rbelow(&r, 3);
        for (int k = 0; k < na; k++)
            cat_word(p->title, sizeof(p->title), zh_adjs[zipf_draw(&z_zadj, &r)], "");
        if (rbelow(&r, 2)) cat_word(p->title, sizeof(p->title), zm, "");
        cat_word(p->title, sizeof(p->title), zh_noun, "");
        if (p->lang == 2) cat_word(p->title, sizeof(p->title), en_noun, " ");
        if (rbelow(&r, 3) == 0) cat_word(p->title, sizeof(p->title), zc, " ");
        snprintf(p->attrs, sizeof(p->attrs), "颜色: %s; 材质: %s; 尺码: %s", zc, zm,
                 (const char *[]){"S", "M", "L", "XL", "均码"}[rbelow(&r, 5)]);
        int nd = 10 + rbelow(&r, 15);
        for (int k = 0; k < nd; k++) {
            uint32_t x = rbelow(&r, 10);
            const char *w = x == 0   ? zh_noun
                            : x == 1 ? zh_adjs[zipf_draw(&z_zadj, &r)]
                                     : zh_general[zipf_draw(&z_zgen, &r)];
            cat_word(p->desc, sizeof(p->desc), w, "");
            if (k % 6 == 5) cat_word(p->desc, sizeof(p->desc), k + 1 == nd ? "。" : "，", "");
        }
    }
    p->anc[0] = 1 + leaf / 50;  /* 20 top categories */
    p->anc[1] = 100 + leaf / 5; /* 200 middle ones */
    memset(&p->d, 0, sizeof(p->d));
    p->d.id = (int64_t)i + 1;
    p->d.title = p->title;
    p->d.attributes = p->attrs;
    p->d.description = p->desc;
    p->d.category_id = 10000 + leaf;
    p->d.category_ancestors = p->anc;
    p->d.n_category_ancestors = 2;
    uint32_t m = zipf_draw(&z_merchant, &r);
    p->d.merchant_id = 1000 + m;
    p->d.merchant_kind = (uint8_t)(m % 7);
    p->d.price = (int64_t)(500.0 * pow(1000.0, runif(&r)));
    memcpy(p->d.currency, rbelow(&r, 10) == 0 ? "USD" : "CNY", 4);
    p->d.created_at = 1700000000000000LL + (int64_t)i * 1000;
    p->d.active = true;
}

struct gen {
    uint64_t next, n;
    struct product p;
};

static bool gen_next(void *ctx, struct search_doc *d)
{
    struct gen *g = ctx;
    if (g->next >= g->n) return false;
    make_product(g->next++, &g->p);
    *d = g->p.d;
    return true;
}

/* ---- queries --------------------------------------------------------------------- */

enum qtype { Q_EN1, Q_EN2, Q_EN3, Q_PREFIX, Q_TYPO, Q_ZH, Q_NTYPES };
static const char *const qtype_name[] = {"1 word", "2 words", "3 words",
                                         "prefix", "typo",    "Chinese"};

struct query {
    char q[128];
    char fts[160]; /* FTS5 MATCH expression, "" when not comparable */
    enum qtype type;
};

/* Splits a title into words (ASCII words only for English queries). */
static int ascii_words(const char *s, char w[][32], int max)
{
    int n = 0;
    while (*s && n < max) {
        while (*s &&
               !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            s++;
        int l = 0;
        while (*s &&
               ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) {
            if (l < 31) w[n][l++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
            s++;
        }
        if (l) {
            w[n][l] = 0;
            n++;
        }
    }
    return n;
}

static void make_query(uint64_t i, uint64_t nprod, struct query *q)
{
    struct rng r = {mix64(i * 104729 + 99)};
    struct product p;
    uint32_t u = rbelow(&r, 100);
    q->type = u < 30   ? Q_EN1
              : u < 52 ? Q_EN2
              : u < 62 ? Q_EN3
              : u < 75 ? Q_PREFIX
              : u < 87 ? Q_TYPO
                       : Q_ZH;
    for (int tries = 0;; tries++) {
        make_product(rnext(&r) % nprod, &p);
        if ((q->type == Q_ZH) == (p.lang != 0) || tries > 50) break;
    }
    q->q[0] = q->fts[0] = 0;
    if (q->type == Q_ZH) {
        /* 2-4 characters of the title's Chinese part, or one of its words. */
        const char *t = p.title;
        size_t n = strlen(t), k = 0, starts[128];
        for (size_t b = 0; b < n && k < 128; b++)
            if ((unsigned char)t[b] >= 0xE0) starts[k++] = b;
        if (k < 2) {
            snprintf(q->q, sizeof(q->q), "%s", zh_nouns[rbelow(&r, COUNT(zh_nouns))]);
            return;
        }
        size_t len = 2 + rbelow(&r, 3), a = rbelow(&r, (uint32_t)(k - 1));
        if (a + len > k) len = k - a;
        size_t end = a + len < k ? starts[a + len] : starts[k - 1] + 3;
        if (end - starts[a] >= sizeof(q->q)) end = starts[a] + 6;
        memcpy(q->q, t + starts[a], end - starts[a]);
        q->q[end - starts[a]] = 0;
        /* stop at a non-CJK byte */
        for (size_t b = 0; q->q[b]; b++)
            if ((unsigned char)q->q[b] < 0x80) {
                q->q[b] = 0;
                break;
            }
        return;
    }
    char w[16][32];
    int nw = ascii_words(p.title, w, 16);
    int want = q->type == Q_EN1   ? 1
               : q->type == Q_EN2 ? 2
               : q->type == Q_EN3 ? 3
                                  : 1 + rbelow(&r, 2);
    if (nw == 0) {
        snprintf(w[0], 32, "%s", en_nouns[rbelow(&r, COUNT(en_nouns))]);
        nw = 1;
    }
    if (want > nw) want = nw;
    int first = rbelow(&r, (uint32_t)(nw - want + 1));
    char words[3][32];
    for (int k = 0; k < want; k++)
        snprintf(words[k], 32, "%s", w[first + k]);
    if (q->type == Q_PREFIX) {
        size_t l = strlen(words[want - 1]);
        if (l > 3) words[want - 1][3 + rbelow(&r, (uint32_t)(l - 3))] = 0;
    } else if (q->type == Q_TYPO) {
        int k = 0;
        for (int j = 0; j < want; j++)
            if (strlen(words[j]) > strlen(words[k])) k = j;
        char *x = words[k];
        size_t l = strlen(x);
        if (l >= 5) {
            size_t at = 1 + rbelow(&r, (uint32_t)(l - 2));
            switch (rbelow(&r, 4)) {
            case 0: /* swap */ {
                char t = x[at];
                x[at] = x[at + 1];
                x[at + 1] = t;
                break;
            }
            case 1: /* delete */
                memmove(x + at, x + at + 1, l - at);
                break;
            case 2: /* substitute */
                x[at] = (char)('a' + (x[at] - 'a' + 1 + rbelow(&r, 25)) % 26);
                break;
            default: /* insert */
                if (l < 30) {
                    memmove(x + at + 1, x + at, l - at + 1);
                    x[at] = (char)('a' + rbelow(&r, 26));
                }
            }
        }
    }
    for (int k = 0; k < want; k++) {
        cat_word(q->q, sizeof(q->q), words[k], " ");
        char f[128];
        snprintf(f, sizeof(f), "\"%s\"%s", words[k], k == want - 1 ? "*" : "");
        cat_word(q->fts, sizeof(q->fts), f, " ");
    }
}

/* ---- measuring ---------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0) v = atol(line + strlen(key) + 1);
    if (f) fclose(f);
    return v;
}

static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct runstat {
    double qps, p50, p99, max, secs, cpu_us; /* cpu_us: process CPU time per query */
    uint64_t n, hits;
};

enum engine { ENG_SOUK, ENG_FTS5 };

struct runner {
    enum engine eng;
    struct search_index *idx;
    const char *dbpath;
    struct query *qs;
    uint32_t *sel; /* query numbers to run */
    size_t nsel;
    unsigned flags;      /* search_query.flags */
    double deadline;     /* stop taking queries after this (0: none) */
    atomic_size_t *next; /* shared: the next position in sel */
    double *lat;         /* per position */
    uint64_t hits;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (r->eng == ENG_FTS5) {
        sqlite3_open_v2(r->dbpath, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        sqlite3_exec(db, "PRAGMA mmap_size=4000000000; PRAGMA cache_size=-200000;", 0, 0, 0);
        if (sqlite3_prepare_v2(db,
                               "SELECT rowid FROM p WHERE p MATCH ?1 AND "
                               "rank MATCH 'bm25(3.0, 1.5, 1.0)' ORDER BY rank LIMIT 20",
                               -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "fts5 prepare: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
    }
    for (;;) {
        if (r->deadline && now() > r->deadline) break;
        size_t i = atomic_fetch_add(r->next, 1);
        if (i >= r->nsel) break;
        const struct query *q = &r->qs[r->sel[i]];
        double t0 = now();
        if (r->eng == ENG_SOUK) {
            struct search_query sq = {.q = q->q, .limit = 20, .flags = r->flags};
            struct search_result res;
            search_index_query(r->idx, &sq, &res);
            r->hits += res.total;
            search_result_release(&res);
        } else {
            sqlite3_bind_text(st, 1, q->fts, -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW)
                r->hits++;
            sqlite3_reset(st);
        }
        r->lat[i] = now() - t0;
    }
    if (st) sqlite3_finalize(st);
    if (db) sqlite3_close(db);
    return NULL;
}

/*
 * Runs sel[0..nsel) from nthreads threads, each taking the next query. With
 * a time limit, stops early; s.n says how many (always a prefix of sel).
 */
static struct runstat run_queries(enum engine eng, struct search_index *idx, const char *dbpath,
                                  struct query *qs, uint32_t *sel, size_t nsel, int nthreads,
                                  unsigned flags, double seconds)
{
    struct runner r[8];
    pthread_t th[8];
    atomic_size_t next;
    double *lat = calloc(nsel + 1, sizeof(double));
    struct runstat s = {0};
    double t0 = now(), c0 = cpu_seconds();
    atomic_init(&next, 0);
    for (int t = 0; t < nthreads; t++) {
        r[t] = (struct runner){.eng = eng,
                               .idx = idx,
                               .dbpath = dbpath,
                               .qs = qs,
                               .sel = sel,
                               .nsel = nsel,
                               .flags = flags,
                               .next = &next,
                               .lat = lat,
                               .deadline = seconds > 0 ? t0 + seconds : 0};
        pthread_create(&th[t], NULL, run_thread, &r[t]);
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        s.hits += r[t].hits;
    }
    s.secs = now() - t0;
    s.n = atomic_load(&next);
    if (s.n > nsel) s.n = nsel;
    s.cpu_us = s.n ? (cpu_seconds() - c0) / s.n * 1e6 : 0;
    if (s.n == 0) {
        free(lat);
        return s;
    }
    s.qps = s.n / s.secs;
    qsort(lat, s.n, sizeof(double), cmp_double);
    s.p50 = lat[s.n / 2] * 1e3;
    s.p99 = lat[(size_t)(s.n * 0.99)] * 1e3;
    s.max = lat[s.n - 1] * 1e3;
    free(lat);
    return s;
}

/* ---- FTS5 -------------------------------------------------------------------------------- */

static double fts5_load(const char *path, uint64_t n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    unlink(path);
    char wal[300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-journal", path);
    unlink(wal);
    double t0 = now();
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;"
                 "CREATE VIRTUAL TABLE p USING fts5(title, attributes, description,"
                 " tokenize='porter unicode61', prefix='2 3');",
                 0, 0, 0);
    sqlite3_prepare_v2(db, "INSERT INTO p(rowid, title, attributes, description) VALUES(?,?,?,?)",
                       -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", 0, 0, 0);
    struct product p;
    for (uint64_t i = 0; i < n; i++) {
        make_product(i, &p);
        sqlite3_bind_int64(st, 1, p.d.id);
        sqlite3_bind_text(st, 2, p.title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p.attrs, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p.desc, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    sqlite3_finalize(st);
    sqlite3_exec(db, "INSERT INTO p(p) VALUES('optimize')", 0, 0, 0);
    sqlite3_close(db);
    return now() - t0;
}

/* ---- main ----------------------------------------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : def;
}

int main(int argc, char **argv)
{
    uint64_t nprod = argc > 1 ? strtoull(argv[1], NULL, 10) : env_u64("PRODUCTS", 1000000);
    size_t nq = argc > 2 ? strtoull(argv[2], NULL, 10) : env_u64("QUERIES", 40000);
    double fts_secs = argc > 3 ? atof(argv[3]) : (double)env_u64("FTS_SECONDS", 25);
    const char *dbpath = getenv("FTS5_DB") ? getenv("FTS5_DB") : "/dev/shm/souk-search-bench.db";
    double t_start = now();

    vocab_init();

    /* Generation alone (a sample), to separate it from indexing. */
    double t0 = now();
    struct product p;
    size_t bytes = 0;
    uint64_t sample = nprod < 100000 ? nprod : 100000;
    for (uint64_t i = 0; i < sample; i++) {
        make_product(i, &p);
        bytes += strlen(p.title) + strlen(p.attrs) + strlen(p.desc);
    }
    double gen_per = (now() - t0) / sample;

    /* Index: generated on the fly, never held in memory as a whole. */
    long rss0 = status_kb("VmRSS:");
    reset_peak_rss();
    struct search_options opt = {.refresh_ms = 100};
    struct search_index *idx = search_index_new(&opt);
    struct gen g = {.n = nprod};
    t0 = now();
    search_index_load(idx, gen_next, &g, 2);
    double t_index = now() - t0;
    long hwm = status_kb("VmHWM:"), rss = status_kb("VmRSS:");
    struct search_stats ss;
    search_index_stats(idx, &ss);
    fprintf(stderr, "indexed %" PRIu64 " in %.1f s, peak RSS %ld MB\n", nprod, t_index, hwm / 1024);

    /* Queries. */
    struct query *qs = calloc(nq, sizeof(*qs));
    for (size_t i = 0; i < nq; i++)
        make_query(i, nprod, &qs[i]);
    uint32_t *all = malloc(nq * sizeof(uint32_t)), *en = malloc(nq * sizeof(uint32_t));
    size_t nen = 0;
    for (size_t i = 0; i < nq; i++) {
        all[i] = (uint32_t)i;
        if (qs[i].fts[0]) en[nen++] = (uint32_t)i;
    }
    run_queries(ENG_SOUK, idx, NULL, qs, all, nq < 2000 ? nq : 2000, 2, 0, 0); /* warm up */
    struct runstat s_all = run_queries(ENG_SOUK, idx, NULL, qs, all, nq, 2, 0, 0);
    struct runstat s_one =
        run_queries(ENG_SOUK, idx, NULL, qs, all, nq < 10000 ? nq : 10000, 1, 0, 0);
    struct runstat s_type[Q_NTYPES];
    for (int t = 0; t < Q_NTYPES; t++) {
        size_t n = 0;
        uint32_t *sel = malloc(nq * sizeof(uint32_t));
        for (size_t i = 0; i < nq; i++)
            if (qs[i].type == (enum qtype)t) sel[n++] = (uint32_t)i;
        s_type[t] = run_queries(ENG_SOUK, idx, NULL, qs, sel, n, 2, 0, 0);
        free(sel);
    }
    /* How often the bounds of search.h applied. */
    size_t inexact_total = 0, inexact_rank = 0;
    for (size_t i = 0; i < nq; i++) {
        struct search_query sq = {.q = qs[i].q, .limit = 20};
        struct search_result res;
        search_index_query(idx, &sq, &res);
        inexact_total += !res.total_exact;
        inexact_rank += !res.ranking_exact;
        search_result_release(&res);
    }
    fprintf(stderr, "queries: %.0f q/s\n", s_all.qps);

    /* Write visibility: upserts with a fresh word, polled until searchable. */
    double vis_max = 0, vis_sum = 0;
    int nvis = 20;
    for (int k = 0; k < nvis; k++) {
        char title[300], word[32];
        snprintf(word, sizeof(word), "zqxv%dmarker", k);
        make_product((uint64_t)k * 1000, &p);
        snprintf(title, sizeof(title), "%s %s", p.title, word);
        p.d.title = title;
        double w0 = now();
        search_index_upsert(idx, &p.d);
        for (;;) {
            struct search_query sq = {.q = word, .flags = SEARCH_NO_FACETS | SEARCH_NO_PREFIX};
            struct search_result res;
            search_index_query(idx, &sq, &res);
            uint64_t tot = res.total;
            search_result_release(&res);
            if (tot) break;
            usleep(1000);
        }
        double v = now() - w0;
        vis_sum += v;
        vis_max = v > vis_max ? v : vis_max;
    }
    /* A burst of 5,000 upserts, then the time until the last one is searchable. */
    double b0 = now(), up_max = 0;
    for (int k = 0; k < 5000; k++) {
        make_product((uint64_t)k * 37, &p);
        char title[300];
        snprintf(title, sizeof(title), "%s burstmark%d", p.title, k);
        p.d.title = title;
        double u0 = now();
        search_index_upsert(idx, &p.d);
        up_max = now() - u0 > up_max ? now() - u0 : up_max;
    }
    double b_up = now() - b0;
    for (;;) {
        struct search_query sq = {.q = "burstmark4999",
                                  .flags = SEARCH_NO_FACETS | SEARCH_NO_PREFIX};
        struct search_result res;
        search_index_query(idx, &sq, &res);
        uint64_t tot = res.total;
        search_result_release(&res);
        if (tot) break;
        usleep(1000);
    }
    double b_vis = now() - b0;
    t0 = now();
    search_index_compact(idx);
    double t_merge = now() - t0;
    long hwm_after = status_kb("VmHWM:");

    /* FTS5 on the same products; as many of the English queries as it answers in fts_secs. */
    double t_fts_load = fts5_load(dbpath, nprod);
    fprintf(stderr, "fts5 loaded in %.1f s\n", t_fts_load);
    run_queries(ENG_FTS5, NULL, dbpath, qs, en, nen < 50 ? nen : 50, 2, 0, 0); /* warm up */
    struct runstat f_en = run_queries(ENG_FTS5, NULL, dbpath, qs, en, nen, 2, 0, fts_secs);
    unlink(dbpath);
    /* souk on exactly those queries, bounded and exact; repeated to run long
     * enough (a few hundred queries last a few milliseconds) to measure. */
    size_t reps = f_en.n ? (20000 + f_en.n - 1) / f_en.n : 1, nrep = reps * f_en.n;
    uint32_t *rep = malloc((nrep + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < nrep; i++)
        rep[i] = en[i % (f_en.n ? f_en.n : 1)];
    struct runstat s_en = run_queries(ENG_SOUK, idx, NULL, qs, rep, nrep, 2, 0, 0);
    struct runstat x_en =
        run_queries(ENG_SOUK, idx, NULL, qs, rep, nrep / 4 + 1, 2, SEARCH_EXACT, 0);
    free(rep);
    search_index_free(idx);

    printf("## Search\n\n");
    printf("`bench/search.sh` (bench/search_bench.c): %" PRIu64 " generated products "
           "(%.0f bytes of text each on average; 45%% English, 35%% Chinese, 20%% mixed "
           "titles; 1,000 leaf categories under 200 + 20; Zipf-distributed words, brands, "
           "categories and merchants), 2 threads querying on this 2-core machine, "
           "which other workers share (read numbers as ±20%%). Whole run: %.0f s.\n\n",
           nprod, (double)bytes / sample, now() - t_start);
    printf("| measure | value |\n| --- | --- |\n");
    printf("| index build (search_index_load, 2 threads, generation included) | **%.1f s** "
           "(generation alone ~%.1f s) |\n",
           t_index, gen_per * nprod);
    printf("| peak RSS while indexing (VmHWM of the process) | **%.0f MB** (before: %.0f MB; "
           "after: %.0f MB) |\n",
           hwm / 1024.0, rss0 / 1024.0, rss / 1024.0);
    printf("| index size (estimate) | %.0f MB; %" PRIu64 " terms, %" PRIu64 " postings |\n",
           ss.bytes / 1048576.0, ss.terms, ss.postings);
    printf("| query mix, %zu queries, 2 threads | **%.0f q/s**, p50 %.3f ms, **p99 %.3f ms**, "
           "max %.2f ms |\n",
           nq, s_all.qps, s_all.p50, s_all.p99, s_all.max);
    printf("| same mix, 1 thread (%" PRIu64 " queries) | %.0f q/s, p50 %.3f ms, p99 %.3f ms |\n",
           s_one.n, s_one.qps, s_one.p50, s_one.p99);
    printf("| CPU time per query (process CPU / queries, 2-thread run) | %.0f µs: %.0f q/s "
           "if both cores were ours |\n",
           s_all.cpu_us, 2e6 / s_all.cpu_us);
    printf("| queries whose total was estimated / whose hits were ranked on a sample | "
           "%.1f%% / %.1f%% |\n",
           100.0 * inexact_total / nq, 100.0 * inexact_rank / nq);
    printf("| write visible (upsert → found), %d single writes, refresh every 100 ms | mean "
           "%.0f ms, max %.0f ms |\n",
           nvis, vis_sum / nvis * 1e3, vis_max * 1e3);
    printf("| 5,000 upserts in a burst | %.0f ms to submit (slowest call %.1f ms), the last "
           "searchable after %.0f ms |\n",
           b_up * 1e3, up_max * 1e3, b_vis * 1e3);
    printf("| full merge of the delta into the base (search_index_compact) | %.2f s; peak RSS "
           "by then %.0f MB |\n",
           t_merge, hwm_after / 1024.0);
    printf("\nThe query mix: queries are words of a random product's title, so frequent "
           "words are asked for more often; no trailing space, so the last word is also a "
           "prefix (search-as-you-type). Each query returns 20 hits with highlights, the "
           "total, and facets on category, merchant kind and price.\n\n");
    printf("| kind | share | q/s (2 threads) | p50 ms | p99 ms | max ms | mean total |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int t = 0; t < Q_NTYPES; t++)
        printf("| %s | %.0f%% | %.0f | %.3f | %.3f | %.2f | %.0f |\n", qtype_name[t],
               100.0 * s_type[t].n / nq, s_type[t].qps, s_type[t].p50, s_type[t].p99, s_type[t].max,
               s_type[t].n ? (double)s_type[t].hits / s_type[t].n : 0);
    printf("\nSide by side with SQLite FTS5 on the same products, in the same run: the English "
           "queries of the mix (FTS5's unicode61 tokenizer cannot split Chinese), in the same "
           "order, 2 threads, as many as FTS5 answered in %.0f s (%" PRIu64 "); the last word "
           "as a prefix (`\"abc\"*`) as souk does without a trailing space, typo queries as typed "
           "(FTS5 has no typo tolerance). "
           "FTS5 ranks with bm25 and the same field weights (3, 1.5, 1) and returns the top "
           "20 only; souk also counts, facets and highlights (souk's rows repeat those "
           "queries to run long enough to time).\n\n",
           fts_secs, f_en.n);
    printf("| engine | load | q/s | p50 ms | p99 ms | CPU µs/query |\n"
           "| --- | --- | --- | --- | --- | --- |\n");
    printf("| souk search (bounded work, as shipped) | %.1f s | **%.0f** | %.3f | %.3f | %.0f |\n",
           t_index, s_en.qps, s_en.p50, s_en.p99, s_en.cpu_us);
    printf("| souk search with SEARCH_EXACT (every match counted, ranked, faceted) | | %.0f | "
           "%.3f | %.3f | %.0f |\n",
           x_en.qps, x_en.p50, x_en.p99, x_en.cpu_us);
    printf("| SQLite %s FTS5 (porter unicode61, prefix='2 3', file in /dev/shm, mmap) | %.1f s | "
           "%.0f | %.3f | %.3f | %.0f |\n",
           sqlite3_libversion(), t_fts_load, f_en.qps, f_en.p50, f_en.p99, f_en.cpu_us);
    printf("\n**Throughput, souk / FTS5: %.0f× (bounded), %.0f× (SEARCH_EXACT).**\n",
           s_en.qps / f_en.qps, x_en.qps / f_en.qps);
    free(qs);
    free(all);
    free(en);
    return 0;
}
